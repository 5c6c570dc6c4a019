package dev

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/jobstore"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// startAll starts the embedded peers on free ports, the simulated
// Kubernetes and the three workers, all stopped at cleanup.
func startAll(t *testing.T) (*Env, *jobstore.Store) {
	t.Helper()
	testenv.LookPath(t, "redis-server")
	env, _, store := startAllWith(t, Options{}, KubeOptions{})
	return env, store
}

// startAllWith is startAll with o and ko (ports and Kubeconfig are
// ignored: free ports, simulated cluster). Redis is the local
// redis-server when PATH has one, else miniredis; the control-plane
// binaries are required unless ko.FakeClientset.
func startAllWith(t *testing.T, o Options, ko KubeOptions) (*Env, *Kube, *jobstore.Store) {
	t.Helper()
	if !ko.FakeClientset && !kubetest.Available() {
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
	ko.Kubeconfig, ko.StartDelay, ko.Logger = "", 500*time.Millisecond, log
	kube, err := StartKube(ctx, ko)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	w, err := StartWorkers(env, kube, log)
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
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: 128})
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

// TestKcatSubmitReachesRunning is TestSubmitReachesRunning with the request
// produced by kcat, as a user would.
func TestKcatSubmitReachesRunning(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat)")
	}
	env, store := startAll(t)
	f := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(f, DemoRequest("wc2", env.JarURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kcat, "-b", env.KafkaBrokers[0], "-t", TopicPrefix+"submit", "-P", "-k", "flink-jobs/wc2", f).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v: %s", err, out)
	}
	waitRunning(t, store, messages.JobRef{Namespace: Namespace, ClusterID: "wc2"}.Key(), 45*time.Second)
}
