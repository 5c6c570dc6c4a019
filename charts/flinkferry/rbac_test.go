package flinkferry_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
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

// TestChartRBACIsEnoughAndNoMore is the chart's RBAC must-show. The chart
// is applied to the real API server (RBAC authorization on); tokens are
// minted for its submit and track ServiceAccounts (TokenRequest) and the
// two workers run, configured from the chart's own environment
// (ConfigMap and container env), with kubeconfigs holding those tokens.
// They deploy an application job (the JobManager Deployment, its
// ConfigMaps and Services, running as the chart's JobManager account),
// track it to RUNNING (watching Deployments and pods) and remove its
// cluster on cancel (the delete verbs). A namespace outside jobNamespaces
// is refused by Kubernetes itself: a real Forbidden error for each
// account, and SubjectAccessReviews that deny it while allowing the same
// request in the job namespace.
func TestChartRBACIsEnoughAndNoMore(t *testing.T) {
	const release, ns, jobs, other = "rbac", "ff-rbac", "rbac-jobs", "rbac-other"
	submitSA, trackSA := release+"-flinkferry-submit", release+"-flinkferry-track"
	cp := kubetest.Shared(t)
	admin := cp.Clientset()
	ctx := context.Background()
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"--set", "jobNamespaces={"+jobs+"}")
	applyManifests(t, cp, out, ns)
	ensureNamespace(t, cp, other)
	// The RBAC authorizer learns of new bindings through a watch.
	waitAccess(t, admin, serviceAccountUser(ns, submitSA), "patch", "apps", "deployments", jobs, true)
	waitAccess(t, admin, serviceAccountUser(ns, trackSA), "watch", "", "pods", jobs, true)
	waitAccess(t, admin, serviceAccountUser(jobs, "flink"), "create", "", "pods", jobs, true)

	k, r := testenv.Kafka(t), testenv.Redis(t)
	sim, hc := startSim(t)
	dir := t.TempDir()

	// The submit worker, as its ServiceAccount, with the chart's settings.
	env := chartEnv(t, admin, ns, release, "submit")
	env["FLINKFERRY_SUBMIT_KUBECONFIG"] = kubeconfigFile(t, cp, dir, ns, submitSA)
	var scfg submit.Config
	loadConfig(t, env, &scfg)
	prefix := scfg.Kafka.TopicPrefix
	scfg.Common = k.WorkerCommon()
	scfg.Kafka.TopicPrefix = prefix
	testenv.RunWorker(t, submit.Spec(scfg, nil))

	// The track worker, as its ServiceAccount, polling the simulator.
	env = chartEnv(t, admin, ns, release, "track")
	env["FLINKFERRY_TRACK_KUBECONFIG"] = kubeconfigFile(t, cp, dir, ns, trackSA)
	for k, v := range map[string]string{
		"FLINKFERRY_TRACK_JOB_STATUS_INTERVAL": "500ms", "FLINKFERRY_TRACK_CLUSTER_METRIC_INTERVAL": "1s",
		"FLINKFERRY_TRACK_REQUEST_TIMEOUT": "400ms", "FLINKFERRY_TRACK_SHARDS": "8", "FLINKFERRY_TRACK_LEASE_TTL": "2s",
		"FLINKFERRY_TRACK_OPERATION_INTERVAL": "200ms", "FLINKFERRY_TRACK_REPLICA_ID": "rbac-1",
	} {
		env[k] = v
	}
	var tcfg track.Config
	loadConfig(t, env, &tcfg)
	tcfg.Common = k.WorkerCommon()
	tcfg.Kafka.TopicPrefix = prefix
	tcfg.Redis = redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second}
	testenv.RunWorker(t, track.Spec(tcfg, track.Overrides{HTTPClient: hc}))

	// An application job: image built -> deployed by submit -> tracked.
	const id, jobID = "rbac-wordcount", "0123456789abcdef0123456789abcdef"
	jm := sim.AddCluster(kubeclusters.RestServiceName(id), flinksim.ClusterOptions{
		Application: true,
		Jobs:        []flinksim.JobSpec{{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}}},
	})
	topics := scfg.Kafka.Topics()
	produce(t, k, topics.ImageBuilt, imageBuilt(jobs, id, jobID))
	deployedRecs := k.Consume(t, topics.Deployed, 1, 60*time.Second)
	if len(deployedRecs) != 1 {
		t.Fatalf("deployed records = %d, want 1 (the submit worker's rights were not enough?)", len(deployedRecs))
	}
	d, err := admin.AppsV1().Deployments(jobs).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Spec.Template.Spec.ServiceAccountName, "flink"; got != want {
		t.Errorf("JobManager runs as %q, want the chart's JobManager account %q", got, want)
	}
	jmPod, err := kubetest.CreatePodFor(ctx, admin, d, corev1.PodRunning, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetPodRunning(ctx, admin, jobs, jmPod.Name); err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetDeploymentAvailable(ctx, admin, jobs, id, 1); err != nil {
		t.Fatal(err)
	}
	store := newStore(t, r.URL(), 8)
	key := messages.JobRef{Namespace: jobs, ClusterID: id}.Key()
	waitJob(t, store, key, messages.StateRunning, 30*time.Second)

	// The JobManager's account creates its TaskManagers in its namespace.
	flink := clientAs(t, cp, jobs, "flink")
	tm := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: id + "-taskmanager-1-1", Labels: map[string]string{"app": id, "type": "flink-native-kubernetes", "component": "taskmanager"}},
		Spec: corev1.PodSpec{ServiceAccountName: "flink", RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "flink-main-container", Image: "flink:1.20"}}}}
	if _, err := flink.CoreV1().Pods(jobs).Create(ctx, tm, metav1.CreateOptions{}); err != nil {
		t.Errorf("the JobManager account cannot create its TaskManager pod: %v", err)
	}
	ha := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: id + "-cluster-config-map", Labels: map[string]string{"app": id, "type": "flink-native-kubernetes", "configmap-type": "high-availability"}}}
	if _, err := flink.CoreV1().ConfigMaps(jobs).Create(ctx, ha, metav1.CreateOptions{}); err != nil {
		t.Errorf("the JobManager account cannot create its HA ConfigMap: %v", err)
	}

	// Cancel: the track worker cancels through Flink and removes the
	// whole cluster with its own rights.
	produce(t, k, topics.Control, &messages.ControlRequested{RequestID: "rbac-cancel", Job: messages.JobRef{Namespace: jobs, ClusterID: id}, Operation: messages.OpCancel})
	deadline := time.Now().Add(30 * time.Second)
	for {
		forceTerminated(t, admin, jobs)
		j, err := store.Get(ctx, key)
		if err == nil && j.State == messages.StateCanceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v (%v), want CANCELED with its cluster removed", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := admin.AppsV1().Deployments(jobs).Get(ctx, id, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("JobManager Deployment after cancel: %v, want not found", err)
	}
	if _, err := admin.CoreV1().ConfigMaps(jobs).Get(ctx, ha.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("HA ConfigMap after cancel: %v, want not found", err)
	}
	if st := jm.Job(jobID).State(); st != flinksim.Canceled {
		t.Errorf("Flink job %s, want CANCELED", st)
	}

	// No more: outside jobNamespaces Kubernetes refuses each account.
	submitKube := clientAs(t, cp, ns, submitSA)
	trackKube := clientAs(t, cp, ns, trackSA)
	for _, c := range []struct {
		who                   string
		user                  string
		do                    func(ns string) error
		verb, group, resource string
	}{
		{"submit", serviceAccountUser(ns, submitSA), func(ns string) error {
			_, err := submitKube.AppsV1().Deployments(ns).Create(ctx, tinyDeployment(ns, "intruder"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}, "create", "apps", "deployments"},
		{"submit", serviceAccountUser(ns, submitSA), func(ns string) error {
			_, err := submitKube.CoreV1().ConfigMaps(ns).Get(ctx, "anything", metav1.GetOptions{})
			return err
		}, "get", "", "configmaps"},
		{"track", serviceAccountUser(ns, trackSA), func(ns string) error {
			_, err := trackKube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err
		}, "list", "", "pods"},
		{"track", serviceAccountUser(ns, trackSA), func(ns string) error {
			return trackKube.AppsV1().Deployments(ns).Delete(ctx, "anything", metav1.DeleteOptions{})
		}, "delete", "apps", "deployments"},
		{"jobmanager", serviceAccountUser(jobs, "flink"), func(ns string) error {
			_, err := flink.CoreV1().Pods(ns).Create(ctx, tm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}, "create", "", "pods"},
	} {
		err := c.do(other)
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s %s %s in %s: %v, want Forbidden", c.who, c.verb, c.resource, other, err)
		} else {
			t.Logf("%s %s %s in %s: %v", c.who, c.verb, c.resource, other, err)
		}
		if sar(t, admin, c.user, c.verb, c.group, c.resource, other) {
			t.Errorf("SubjectAccessReview: %s may %s %s in %s, want denied", c.who, c.verb, c.resource, other)
		}
		if !sar(t, admin, c.user, c.verb, c.group, c.resource, jobs) {
			t.Errorf("SubjectAccessReview: %s may not %s %s in %s, want allowed", c.who, c.verb, c.resource, jobs)
		}
	}
	// Nor secrets anywhere: nothing in the chart reads them.
	for _, c := range []struct{ who, user string }{{"submit", serviceAccountUser(ns, submitSA)}, {"track", serviceAccountUser(ns, trackSA)}, {"jobmanager", serviceAccountUser(jobs, "flink")}} {
		if sar(t, admin, c.user, "get", "", "secrets", jobs) {
			t.Errorf("%s may read Secrets in %s", c.who, jobs)
		}
	}
	if _, err := trackKube.CoreV1().Secrets(jobs).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("track lists Secrets in %s: %v, want Forbidden", jobs, err)
	}
}

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

// startSim starts a Flink REST simulator answering for every JobManager at
// its cluster DNS name (http://<id>-rest.<namespace>:8081), and the client
// that reaches it.
func startSim(t *testing.T) (*flinksim.Server, *http.Client) {
	t.Helper()
	sim := flinksim.New(flinksim.ServerOptions{HostRouting: true})
	base, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	tr := flinkrest.NewTransport(16)
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, u.Host)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return sim, &http.Client{Transport: tr}
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

// forceTerminated removes pods being deleted, as a kubelet confirms it.
func forceTerminated(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			continue
		}
		if err := cs.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
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
