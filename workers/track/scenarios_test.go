package track

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// runningCluster adds a simulated application JobManager running one job.
func runningCluster(sim *flinksim.Server, id, jobID string) *flinksim.Cluster {
	return sim.AddCluster(kubeclusters.RestServiceName(id), flinksim.ClusterOptions{
		Application: true,
		Jobs:        []flinksim.JobSpec{{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}}},
	})
}

func jobIDOf(i int) string { return fmt.Sprintf("%032x", i+1) }

// TestTrackImagePullIsNotFailure reproduces StreamPark #2996 on the real
// API server: a JobManager still pulling its image stays K8S_INITIALIZING
// however long it takes, while one whose pull fails is DEPLOY_FAILED with
// the Kubernetes reason.
func TestTrackImagePullIsNotFailure(t *testing.T) {
	k, r, cp := testenv.Kafka(t), testenv.Redis(t), kubetest.Shared(t)
	ns := "track-pull"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	_, hc := startSim(t)
	cfg := fastConfig(k, r, "r1", ns)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: clusters, HTTPClient: hc}))
	store := newStore(t, r, cfg.Track.Shards)
	ctx := context.Background()

	for i, tc := range []struct{ id, reason, message string }{
		{"pulling", "ContainerCreating", ""},
		{"badimage", "ImagePullBackOff", `Back-off pulling image "registry.example.com/flinkferry/badimage@sha256:..."`},
	} {
		d := flinkCluster(t, cs, ns, tc.id, jobIDOf(i))
		if _, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodPending, []corev1.ContainerStatus{{
			Name: "flink-main-container", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: tc.reason, Message: tc.message}},
		}}); err != nil {
			t.Fatal(err)
		}
		produce(t, k, cfg.Kafka.Topics().Deployed, deployed(ns, tc.id, jobIDOf(i), restURL(ns, tc.id)))
	}
	failed := waitState(t, store, messages.JobRef{Namespace: ns, ClusterID: "badimage"}.Key(), messages.StateDeployFailed, 15*time.Second)
	if failed.Reason != "image_pull_failed" {
		t.Errorf("badimage reason = %q, want image_pull_failed", failed.Reason)
	}
	pulling := messages.JobRef{Namespace: ns, ClusterID: "pulling"}.Key()
	waitState(t, store, pulling, messages.StateK8sInitializing, 10*time.Second)
	// Many polls later (REST unreachable all along), still initializing.
	time.Sleep(3 * time.Second)
	if j, _ := store.Get(ctx, pulling); j.State != messages.StateK8sInitializing {
		t.Errorf("pulling job: state %s (%s), want K8S_INITIALIZING", j.State, j.Reason)
	}
}

// TestTrackKubernetesOutageIsUnknown reproduces StreamPark #3618: the
// Kubernetes API server goes away; jobs are not failed, not terminated,
// and tracking goes on (a later Flink state change is still seen).
func TestTrackKubernetesOutageIsUnknown(t *testing.T) {
	k, r := testenv.Kafka(t), testenv.Redis(t)
	cp := kubetest.Start(t, kubetest.Options{})
	ns := "track-outage"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	sim, hc := startSim(t)
	cfg := fastConfig(k, r, "r1", ns)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: clusters, HTTPClient: hc}))
	store := newStore(t, r, cfg.Track.Shards)
	ctx := context.Background()

	jobID := jobIDOf(0)
	d := flinkCluster(t, cs, ns, "steady", jobID)
	if _, err := kubetest.RunDeployment(ctx, cs, d); err != nil {
		t.Fatal(err)
	}
	jm := runningCluster(sim, "steady", jobID)
	key := messages.JobRef{Namespace: ns, ClusterID: "steady"}.Key()
	produce(t, k, cfg.Kafka.Topics().Deployed, deployed(ns, "steady", jobID, restURL(ns, "steady")))
	waitState(t, store, key, messages.StateRunning, 15*time.Second)

	if err := cp.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if j, _ := store.Get(ctx, key); j.State != messages.StateRunning {
		t.Fatalf("with the API server down: state %s (%s), want RUNNING", j.State, j.Reason)
	}
	jm.Job(jobID).SetState(flinksim.Restarting)
	waitState(t, store, key, messages.StateRestarting, 10*time.Second)
	// REST silent too: SILENT, never FAILED or TERMINATED.
	sim.RemoveCluster(kubeclusters.RestServiceName("steady"))
	j := waitState(t, store, key, messages.StateSilent, 10*time.Second)
	if j.State.IsTerminal() {
		t.Errorf("state %s is terminal", j.State)
	}
}

// TestTrackSlowJobManagerDoesNotDelayOthers: one JobManager never answers;
// every other job keeps being polled on time (StreamPark's watcher let one
// slow JobManager stall all of them).
func TestTrackSlowJobManagerDoesNotDelayOthers(t *testing.T) {
	k, r := testenv.Kafka(t), testenv.Redis(t)
	sim, hc := startSim(t)
	cfg := fastConfig(k, r, "r1")
	spec := Spec(cfg, Overrides{Clusters: &kubeclusters.Set{}, HTTPClient: hc})
	spec.Ops = ops.New(slog.New(slog.DiscardHandler))
	testenv.RunWorker(t, spec)
	store := newStore(t, r, cfg.Track.Shards)
	ctx := context.Background()

	const n = 20
	var dead *flinksim.Cluster
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		c := runningCluster(sim, id, jobIDOf(i))
		if i == 0 {
			dead = c
		}
		produce(t, k, cfg.Kafka.Topics().Deployed, deployed("flink", id, jobIDOf(i), restURL("flink", id)))
	}
	for i := range n {
		waitState(t, store, messages.JobRef{Namespace: "flink", ClusterID: fmt.Sprintf("job-%02d", i)}.Key(), messages.StateRunning, 15*time.Second)
	}
	// One JobManager hangs: requests to it never answer.
	dead.InjectFault(flinksim.Fault{Kind: flinksim.FaultTimeout})
	// Sample staleness of the healthy jobs for a few seconds.
	worst := time.Duration(0)
	for range 10 {
		time.Sleep(300 * time.Millisecond)
		now := time.Now()
		for i := 1; i < n; i++ {
			j, err := store.Get(ctx, messages.JobRef{Namespace: "flink", ClusterID: fmt.Sprintf("job-%02d", i)}.Key())
			if err != nil {
				t.Fatal(err)
			}
			worst = max(worst, now.Sub(j.LastPoll))
		}
	}
	if limit := cfg.Track.JobStatusInterval + time.Second; worst > limit {
		t.Errorf("worst staleness of healthy jobs = %s, want <= %s", worst, limit)
	}
	// With no Kubernetes to ask, its job goes SILENT, then LOST.
	j := waitState(t, store, messages.JobRef{Namespace: "flink", ClusterID: "job-00"}.Key(), messages.StateLost, 15*time.Second)
	if j.LastError == "" {
		t.Errorf("dead JobManager: no last error recorded")
	}
	if got := pollErrors(t, spec.Ops, "job_status", "timeout"); got < 1 {
		t.Errorf("flinkferry_track_poll_errors_total{kind=job_status,reason=timeout} = %v, want > 0", got)
	}
}

// TestTrackRemovesFinishedApplicationClusters: an application cluster kept
// after its job finished (execution.shutdown-on-application-finish: false)
// is deleted once FINISHED_CLUSTER_RETENTION has passed, HA ConfigMaps
// included, and the job stays FINISHED.
func TestTrackRemovesFinishedApplicationClusters(t *testing.T) {
	k, r, cp := testenv.Kafka(t), testenv.Redis(t), kubetest.Shared(t)
	ns := "track-retention"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	sim, hc := startSim(t)
	cfg := fastConfig(k, r, "r1", ns)
	cfg.Track.FinishedClusterRetention = 2 * time.Second
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: clusters, HTTPClient: hc}))
	store := newStore(t, r, cfg.Track.Shards)
	ctx := context.Background()

	jobID := jobIDOf(7)
	d := flinkCluster(t, cs, ns, "batch", jobID)
	pod, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodRunning, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetPodRunning(ctx, cs, ns, pod.Name); err != nil {
		t.Fatal(err)
	}
	ha := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "batch-cluster-config-map", Namespace: ns, Labels: map[string]string{
		"app": "batch", "configmap-type": "high-availability", "type": "flink-native-kubernetes"}}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, ha, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	jm := runningCluster(sim, "batch", jobID)
	key := messages.JobRef{Namespace: ns, ClusterID: "batch"}.Key()
	produce(t, k, cfg.Kafka.Topics().Deployed, deployed(ns, "batch", jobID, restURL(ns, "batch")))
	waitState(t, store, key, messages.StateRunning, 15*time.Second)
	jm.Job(jobID).SetState(flinksim.Finished)
	finishedAt := time.Now()
	waitState(t, store, key, messages.StateFinished, 10*time.Second)

	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := cs.AppsV1().Deployments(ns).Get(ctx, "batch", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Deployment still there %s after the job finished (err %v)", time.Since(finishedAt), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The HA ConfigMaps are deleted after the Deployment: wait for them too.
	for {
		_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, ha.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finished cluster's HA ConfigMap is left %s after the job finished (err %v)", time.Since(finishedAt), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if kept := time.Since(finishedAt); kept < cfg.Track.FinishedClusterRetention {
		t.Errorf("cluster deleted after %s, before the retention of %s", kept, cfg.Track.FinishedClusterRetention)
	}
	time.Sleep(time.Second)
	if j, _ := store.Get(ctx, key); j.State != messages.StateFinished {
		t.Errorf("after the cleanup: state %s, want FINISHED", j.State)
	}
}

// pollErrors returns the poll error counter of the worker's registry.
func pollErrors(t *testing.T, srv *ops.Server, kind, reason string) float64 {
	t.Helper()
	return pollErrorsOf(t, srv.Registry, kind, reason)
}

// pollErrorsOf returns the poll error counter gathered from g.
func pollErrorsOf(t *testing.T, g prometheus.Gatherer, kind, reason string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != "flinkferry_track_poll_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["reason"] == reason {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
