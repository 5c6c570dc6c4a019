package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// startAll starts the embedded peers on free ports, the simulated
// Kubernetes and the three workers, all stopped at cleanup.
func startAll(t *testing.T) (*Env, *jobstore.Store) {
	t.Helper()
	testenv.LookPath(t, "redis-server")
	env, _, store := startAllWith(t, Options{}, KubeOptions{})
	return env, store
}

// startAllWith is startAll with o and ko (ports are ignored: free ports;
// an empty ko.Kubeconfig simulates the cluster). Redis is the local
// redis-server when PATH has one, else miniredis; the control-plane
// binaries are required unless ko.FakeClientset.
func startAllWith(t *testing.T, o Options, ko KubeOptions) (*Env, *Kube, *jobstore.Store) {
	t.Helper()
	return startStack(t, o, ko, WorkerOptions{})
}

// startStack is startAllWith with the workers' options wo; ko.StartDelay
// defaults to 500 ms.
func startStack(t *testing.T, o Options, ko KubeOptions, wo WorkerOptions) (*Env, *Kube, *jobstore.Store) {
	t.Helper()
	if !ko.FakeClientset && ko.Kubeconfig == "" && !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: see internal/kubetest")
	}
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	ctx := context.Background()
	o.KafkaPort, o.RegistryPort, o.ArtifactPort = 0, 0, 0
	env, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.Default()
	}
	if ko.StartDelay == 0 {
		ko.StartDelay = 500 * time.Millisecond
	}
	ko.Logger = log
	kube, err := StartKube(ctx, ko)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	w, err := StartWorkersWith(env, kube, log, wo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(); err != nil {
			t.Error(err)
		}
	})
	rdb, err := redisclient.New(ctx, redisclient.Config{URL: env.RedisURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: jobstore.DefaultPrefix, Shards: jobstore.DefaultShards})
	if err != nil {
		t.Fatal(err)
	}
	return env, kube, store
}

// submitDemo produces the built-in request for cluster id as plain JSON
// with kgo and returns the job's key.
func submitDemo(t *testing.T, env *Env, id string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: TopicPrefix + "submit", Key: []byte(Namespace + "/" + id), Value: DemoRequest(id, env.JarURL())}
	if err := cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return messages.JobRef{Namespace: Namespace, ClusterID: id}.Key()
}

func waitRunning(t *testing.T, store *jobstore.Store, key string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *jobstore.Job
	for time.Now().Before(deadline) {
		if j, err := store.Get(context.Background(), key); err == nil {
			last = j
			if j.State == messages.StateRunning {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("job %s never registered in Redis", key)
	}
	t.Fatalf("job %s: state %s (reason %q, message %q), want RUNNING", key, last.State, last.Reason, last.Message)
}

// TestSubmitReachesRunning sends a plain JSON submit request (no
// CloudEvents headers) with kgo and follows it through the real build ->
// submit -> track path: image built on the embedded registry from the
// stand-in base image, objects applied on the local API server, the
// simulated kubelet and Flink REST, RUNNING in Redis.
func TestSubmitReachesRunning(t *testing.T) {
	env, store := startAll(t)
	waitRunning(t, store, submitDemo(t, env, "wc1"), 45*time.Second)
}

// TestFallbacksReachRunning proves `flinkferry dev` works without its
// optional binaries: with no redis-server on PATH it runs the embedded
// miniredis, with the control plane unavailable it simulates Kubernetes
// with the fake clientset (no kubeconfig), and either way, or both, a job
// goes through build -> submit -> track to RUNNING.
func TestFallbacksReachRunning(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noRedis  bool
		fakeKube bool
	}{
		{name: "no redis-server", noRedis: true},
		{name: "no control plane", fakeKube: true},
		{name: "bare machine", noRedis: true, fakeKube: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.noRedis {
				t.Setenv("PATH", t.TempDir())
			} else {
				testenv.LookPath(t, "redis-server")
			}
			env, kube, store := startAllWith(t, Options{}, KubeOptions{FakeClientset: tc.fakeKube})
			wantRedis, wantKind, wantKubeconfig := SimRedisServer, KubeSimulated, true
			if tc.noRedis {
				wantRedis = SimRedisEmbedded
			}
			if tc.fakeKube {
				wantKind, wantKubeconfig = KubeFake, false
			}
			if !slices.Contains(env.Simulated, wantRedis) {
				t.Errorf("Simulated = %q, want it to hold %q", env.Simulated, wantRedis)
			}
			if kube.Kind != wantKind || (kube.Kubeconfig != "") != wantKubeconfig {
				t.Errorf("Kind, Kubeconfig = %q, %q; want %q, a kubeconfig: %v", kube.Kind, kube.Kubeconfig, wantKind, wantKubeconfig)
			}
			waitRunning(t, store, submitDemo(t, env, "fb"), 45*time.Second)
		})
	}
}

// TestRealClusterKubeconfig runs dev as `flinkferry dev --kubeconfig`
// does, against a real API server (kube-apiserver + etcd, no kubelet, no
// simulation): the namespace is created, the job's objects are applied
// there, and without a kubelet to start the JobManager the job waits in
// K8S_INITIALIZING, never failed.
func TestRealClusterKubeconfig(t *testing.T) {
	testenv.LookPath(t, "redis-server")
	if !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: see internal/kubetest")
	}
	ctx := context.Background()
	cp, err := kubetest.StartControlPlane(ctx, t.TempDir(), kubetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	env, kube, store := startAllWith(t, Options{}, KubeOptions{Kubeconfig: cp.KubeconfigPath()})
	if kube.Kind != KubeReal || kube.Sim != nil {
		t.Fatalf("Kube.Kind = %q (simulator %v), want %q without a simulator", kube.Kind, kube.Sim != nil, KubeReal)
	}
	key := submitDemo(t, env, "real1")
	deadline := time.Now().Add(45 * time.Second)
	var last *jobstore.Job
	for time.Now().Before(deadline) {
		if j, err := store.Get(ctx, key); err == nil {
			last = j
			if j.State == messages.StateK8sInitializing {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil || last.State != messages.StateK8sInitializing {
		t.Fatalf("job = %+v, want K8S_INITIALIZING", last)
	}
	d, err := cp.Clientset().AppsV1().Deployments(Namespace).Get(ctx, "real1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the JobManager Deployment is not on the cluster: %v", err)
	}
	if d.Spec.Template.Spec.Containers[0].Image == "" || d.Status.ReadyReplicas != 0 {
		t.Errorf("deployment image %q, ready %d", d.Spec.Template.Spec.Containers[0].Image, d.Status.ReadyReplicas)
	}
	time.Sleep(3 * time.Second) // several polls through the service proxy, all unanswered
	if j, err := store.Get(ctx, key); err != nil || j.State != messages.StateK8sInitializing {
		t.Errorf("after 3s: job = %+v, %v; want still K8S_INITIALIZING", j, err)
	}
}

// TestKcatSubmitReachesRunning runs README's "produce from any language"
// and "consume status for alerting" commands with Debian's kcat: the plain
// JSON example examples/json/wordcount.json produced to the submit topic
// reaches RUNNING, and its RUNNING event is read back from the status
// topic as one JSON object per line.
func TestKcatSubmitReachesRunning(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat)")
	}
	env, store := startAll(t)
	req, err := os.ReadFile("../../../examples/json/wordcount.json")
	if err != nil {
		t.Fatal(err)
	}
	// The example names dev's default artifact port; this dev runs on a
	// free one.
	req = bytes.ReplaceAll(req, []byte("http://127.0.0.1:8989"), []byte(env.ArtifactsURL))
	f := filepath.Join(t.TempDir(), "wordcount.json")
	if err := os.WriteFile(f, req, 0o600); err != nil {
		t.Fatal(err)
	}
	broker := env.KafkaBrokers[0]
	out, err := exec.Command(kcat, "-b", broker, "-t", TopicPrefix+"submit", "-P", "-k", "flink-jobs/json-wordcount", f).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -P: %v: %s", err, out)
	}
	waitRunning(t, store, messages.JobRef{Namespace: Namespace, ClusterID: "json-wordcount"}.Key(), 45*time.Second)

	var events []messages.JobStatusChanged
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(kcat, "-b", broker, "-t", TopicPrefix+"status", "-C", "-o", "beginning", "-e", "-q").Output()
		if err != nil {
			t.Fatalf("kcat -C: %v", err)
		}
		events = events[:0]
		for line := range strings.Lines(string(out)) {
			var ev messages.JobStatusChanged
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("status topic line %q is not one JSON event: %v", line, err)
			}
			events = append(events, ev)
			if ev.Job.ClusterID == "json-wordcount" && ev.To == messages.StateRunning {
				if ev.RequestID != "json-wordcount-1" || ev.WebUIURL == "" {
					t.Errorf("RUNNING event = %+v, want request id json-wordcount-1 and a Web UI URL", ev)
				}
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no RUNNING event for json-wordcount on the status topic; read %+v", events)
}
