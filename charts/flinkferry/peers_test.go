package flinkferry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/alert"
	"github.com/flinkferry/flinkferry/workers/build"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// chartEnv is the environment the chart gives worker name: its env
// ConfigMap under the container's own literal variables.
func chartEnv(t *testing.T, cs kubernetes.Interface, ns, release, name string) map[string]string {
	t.Helper()
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, release+"-flinkferry-env", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range cm.Data {
		env[k] = v
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, release+"-flinkferry-"+name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

// loadConfig loads cfg the way the worker does (worker.Load: every
// FLINKFERRY_ variable known, the configuration valid) from env.
func loadConfig(t *testing.T, env map[string]string, cfg worker.Validator) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FLINKFERRY_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	if err := worker.Load(cfg, &build.Config{}, &submit.Config{}, &track.Config{}, &alert.Config{}); err != nil {
		t.Fatalf("the chart's environment: %v", err)
	}
	for k := range env {
		os.Unsetenv(k)
	}
}

// runChartSubmit runs the submit worker configured from env (the chart's
// environment, see chartEnv) on Kafka k, keeping the chart's topic
// prefix, and returns its configuration.
func runChartSubmit(t *testing.T, k *testenv.KafkaCluster, env map[string]string) submit.Config {
	t.Helper()
	var cfg submit.Config
	loadConfig(t, env, &cfg)
	prefix := cfg.Kafka.TopicPrefix
	cfg.Common = k.WorkerCommon()
	cfg.Kafka.TopicPrefix = prefix
	testenv.RunWorker(t, submit.Spec(cfg, nil))
	return cfg
}

// kubeconfigFile writes a kubeconfig holding a token minted for the
// ServiceAccount ns/name.
func kubeconfigFile(t *testing.T, cp *kubetest.ControlPlane, dir, ns, name string) string {
	t.Helper()
	b, err := cp.KubeconfigFor(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ns+"-"+name+".kubeconfig")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func clientAs(t *testing.T, cp *kubetest.ControlPlane, ns, name string) kubernetes.Interface {
	t.Helper()
	rc, err := cp.ConfigFor(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func serviceAccountUser(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }

// sar asks the API server whether user may verb group/resource in ns.
func sar(t *testing.T, cs kubernetes.Interface, user, verb, group, resource, ns string) bool {
	t.Helper()
	r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: []string{"system:serviceaccounts", "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: group, Resource: resource},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

// waitAccess waits until a SubjectAccessReview answers want.
func waitAccess(t *testing.T, cs kubernetes.Interface, user, verb, group, resource, ns string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sar(t, cs, user, verb, group, resource, ns) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s may %s %s in %s: not %v after 10 s", user, verb, resource, ns, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// imageBuilt is the build worker's event for an application job.
func imageBuilt(ns, id, jobID string) *messages.ImageBuilt {
	req := messages.SubmitRequested{
		RequestID: "req-" + id,
		Job:       messages.JobRef{Namespace: ns, ClusterID: id},
		Mode:      messages.ModeApplication,
		Flink:     messages.FlinkOptions{Version: "1.20"},
		Program: &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/wordcount.jar"},
			MainClass: "org.example.WordCount", FlinkJobID: jobID},
	}
	return &messages.ImageBuilt{
		RequestID: req.RequestID, Job: req.Job, Mode: req.Mode, JarName: "wordcount.jar",
		Image:     "registry.example.com/flinkferry/" + id + "@sha256:" + strings.Repeat("1", 64),
		JarSHA256: strings.Repeat("2", 64), Time: time.Now().UTC(), Request: req,
	}
}

func produce(t *testing.T, k *testenv.KafkaCluster, topic string, ev messages.Event) {
	t.Helper()
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "chart-test"})
	if err != nil {
		t.Fatal(err)
	}
	k.Produce(t, topic, key, value, headers)
}

func newStore(t *testing.T, redisURL string, shards int) *jobstore.Store {
	t.Helper()
	rdb, err := redisclient.New(context.Background(), redisclient.Config{URL: redisURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	s, err := jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitJob(t *testing.T, store *jobstore.Store, key string, want messages.JobState, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *jobstore.Job
	for time.Now().Before(deadline) {
		if j, err := store.Get(context.Background(), key); err == nil {
			if last = j; j.State == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("job %s: %+v, want %s within %s", key, last, want, within)
}

func tinyDeployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
		},
	}
}
