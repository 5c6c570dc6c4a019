package dev

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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
	if !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: see internal/kubetest")
	}
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	ctx := context.Background()
	env, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.Default()
	}
	kube, err := StartKube(ctx, KubeOptions{StartDelay: 500 * time.Millisecond, Logger: log})
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
	return env, store
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: TopicPrefix + "submit", Key: []byte("flink-jobs/wc1"), Value: DemoRequest("wc1", env.JarURL())}
	if err := cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, store, messages.JobRef{Namespace: Namespace, ClusterID: "wc1"}.Key(), 45*time.Second)
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
