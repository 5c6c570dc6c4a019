package track

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// TestRecoveredJobGetsItsEndpoint: a JobManager Deployment the worker
// recovers from Kubernetes before its deployed event (no rest Service to
// derive an endpoint from) is tracked without a REST endpoint; the
// deployed event that arrives later fills it in, and the replica that
// already holds the job reads it again and polls it: RUNNING, not
// K8S_INITIALIZING forever (found by the SIGKILL e2e test).
func TestRecoveredJobGetsItsEndpoint(t *testing.T) {
	k, r, cp := testenv.Kafka(t), testenv.Redis(t), kubetest.Shared(t)
	ns := "track-recovered"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	sim, hc := startSim(t)
	const id = "late"
	jobID := jobIDOf(3)
	runningCluster(sim, id, jobID)
	d := flinkCluster(t, cs, ns, id, jobID)
	if _, err := kubetest.CreatePodFor(context.Background(), cs, d, corev1.PodRunning, nil); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(k, r, "r1", ns)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: clusters, HTTPClient: hc}))
	store := newStore(t, r, cfg.Track.Shards)
	key := messages.JobRef{Namespace: ns, ClusterID: id}.Key()

	// Recovered first, without an endpoint, and held by the replica.
	deadline := time.Now().Add(15 * time.Second)
	for {
		j, err := store.Get(context.Background(), key)
		if err == nil && j.RestEndpoint == "" && j.State == messages.StateK8sInitializing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not recovered without an endpoint: %+v %v", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ev := deployed(ns, id, jobID, restURL(ns, id))
	ev.RequestID = requestIDOfRecovered(t, store, key)
	produce(t, k, cfg.Kafka.Topics().Deployed, ev)
	if j := waitState(t, store, key, messages.StateRunning, 15*time.Second); j.RestEndpoint != restURL(ns, id) {
		t.Fatalf("endpoint %q, want %q", j.RestEndpoint, restURL(ns, id))
	}
}

// requestIDOfRecovered is the request id recovery registered the job
// with (the Deployment's annotation), which the deployed event repeats.
func requestIDOfRecovered(t *testing.T, store *jobstore.Store, key string) string {
	t.Helper()
	j, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return j.RequestID
}
