package track

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/shard"
)

// recorder is a Publisher that keeps what it published.
type recorder struct {
	mu  sync.Mutex
	ids map[string]int
}

func (r *recorder) Publish(_ context.Context, ev *messages.JobStatusChanged, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]int{}
	}
	r.ids[id]++
	return nil
}

// replica is one track worker replica without Kafka: its own Redis
// client, shard leases and tracker.
type replica struct {
	rdb    interface{ Close() error }
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, r testenv.RedisServer, cfg TrackConfig, id string, hc *http.Client, pub Publisher) *replica {
	t.Helper()
	return startReplicaWith(t, r, cfg, id, Deps{Flink: flinkrest.New(flinkrest.Options{HTTPClient: hc, RequestTimeout: cfg.RequestTimeout}), Publisher: pub})
}

// startReplicaWith starts a replica whose tracker has d's Flink client,
// publisher, Kubernetes clusters and metrics registry; the store, the
// leases and the logger are the replica's own. Each edit changes the
// tracker before it runs (its clock, for tests in simulated time).
func startReplicaWith(t *testing.T, r testenv.RedisServer, cfg TrackConfig, id string, d Deps, edits ...func(*Tracker)) *replica {
	t.Helper()
	rdb, err := redisclient.New(context.Background(), redisclient.Config{URL: r.URL(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: cfg.RedisPrefix, Shards: cfg.Shards})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	leases, err := shard.New(rdb, shard.Options{Prefix: cfg.RedisPrefix, Shards: cfg.Shards, ReplicaID: id, LeaseTTL: cfg.LeaseTTL, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d.Store, d.Owner, d.Log = store, leases, log
	tr := NewTracker(cfg, d)
	for _, edit := range edits {
		edit(tr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rep := &replica{rdb: rdb, cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = leases.Run(ctx) }()
	go func() { defer wg.Done(); _ = tr.Run(ctx) }()
	go func() { wg.Wait(); close(rep.done) }()
	t.Cleanup(func() { rep.stop() })
	return rep
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
	r.rdb.Close()
}

// kill stops the replica the way a crash does: its leases stay in Redis
// until they expire.
func (r *replica) kill() {
	r.rdb.Close()
	r.stop()
}

// requests returns how many requests each simulated JobManager got.
func requests(cs []*flinksim.Cluster) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Requests()
	}
	return out
}

// TestTrackFailoverThreeReplicas: three replicas split the jobs, each job
// polled by exactly one of them; one replica killed, its jobs are polled
// again by the others within two lease periods.
func TestTrackFailoverThreeReplicas(t *testing.T) {
	r := testenv.Redis(t)
	sim, hc := startSim(t)
	cfg := fastTrack("")
	cfg.Shards, cfg.LeaseTTL = 16, time.Second
	store := newStore(t, r, cfg.Shards)
	ctx := context.Background()

	const n = 30
	var clusters []*flinksim.Cluster
	var keys []string
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		clusters = append(clusters, runningCluster(sim, id, jobIDOf(i)))
		ev := deployed("flink", id, jobIDOf(i), restURL("flink", id))
		if _, err := store.Register(ctx, ev, time.Now()); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ev.Job.Key())
	}
	pub := &recorder{}
	reps := []*replica{
		startReplica(t, r, cfg, "a", hc, pub), startReplica(t, r, cfg, "b", hc, pub), startReplica(t, r, cfg, "c", hc, pub),
	}
	for _, k := range keys {
		waitState(t, store, k, messages.StateRunning, 20*time.Second)
	}

	// Steady state: a job polled by one replica gets about 4 requests a
	// second (jobs overview twice, overview and checkpoints once); two
	// pollers would double that.
	const window = 3 * time.Second
	before := requests(clusters)
	time.Sleep(window)
	after := requests(clusters)
	for i := range clusters {
		if got := float64(after[i]-before[i]) / window.Seconds(); got < 2 || got > 6 {
			t.Errorf("job-%02d: %.1f requests/s, want about 4 (one poller)", i, got)
		}
	}

	// Kill one replica; every job is fresh again within two lease periods.
	reps[0].kill()
	killed := time.Now()
	// Two lease periods to take the shards over, plus one poll interval.
	limit := 2*cfg.LeaseTTL + cfg.JobStatusInterval
	for {
		time.Sleep(100 * time.Millisecond)
		now := time.Now()
		fresh := true
		jobs, err := store.GetMany(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if now.Sub(j.LastPoll) > cfg.JobStatusInterval+500*time.Millisecond || j.LastPoll.Before(killed) {
				fresh = false
			}
		}
		if fresh {
			t.Logf("every job polled again %s after the kill", time.Since(killed).Round(time.Millisecond))
			break
		}
		if time.Since(killed) > limit {
			t.Fatalf("jobs not polled again within %s of the kill", limit)
		}
	}
	// Still one poller per job.
	before = requests(clusters)
	time.Sleep(window)
	after = requests(clusters)
	for i := range clusters {
		if got := float64(after[i]-before[i]) / window.Seconds(); got > 6 {
			t.Errorf("after the kill, job-%02d: %.1f requests/s, want about 4 (one poller)", i, got)
		}
	}
	// Each transition published under one id (the kill may republish an
	// entry not yet acknowledged, under the same id).
	if got := len(pub.ids); got != 2*n {
		t.Errorf("distinct status events = %d, want %d (>STARTING and STARTING>RUNNING per job)", got, 2*n)
	}
}

// TestTrackStatusEventsExactlyOnce: two full track workers in one consumer
// group, every deployed event delivered twice: exactly one status event
// per transition on the status topic.
func TestTrackStatusEventsExactlyOnce(t *testing.T) {
	k, r := testenv.Kafka(t), testenv.Redis(t)
	sim, hc := startSim(t)
	for _, id := range []string{"r1", "r2"} {
		cfg := fastConfig(k, r, id)
		testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: &kubeclusters.Set{}, HTTPClient: hc}))
	}
	cfg := fastConfig(k, r, "test")
	store := newStore(t, r, cfg.Track.Shards)
	const n = 10
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		runningCluster(sim, id, jobIDOf(i))
		ev := deployed("flink", id, jobIDOf(i), restURL("flink", id))
		produce(t, k, cfg.Kafka.Topics().Deployed, ev)
		produce(t, k, cfg.Kafka.Topics().Deployed, ev)
	}
	for i := range n {
		waitState(t, store, messages.JobRef{Namespace: "flink", ClusterID: fmt.Sprintf("job-%02d", i)}.Key(), messages.StateRunning, 20*time.Second)
	}
	recs := k.Consume(t, cfg.Kafka.Topics().Status, 2*n+1, 5*time.Second)
	got := map[string][]string{}
	ids := map[string]bool{}
	for i, c := range statusChanges(t, recs) {
		got[c.Job.ClusterID] = append(got[c.Job.ClusterID], string(c.From)+">"+string(c.To))
		id := testenv.Header(recs[i], "ce_id")
		if ids[id] {
			t.Errorf("ce_id %s published twice", id)
		}
		ids[id] = true
	}
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		if want := []string{">STARTING", "STARTING>RUNNING"}; fmt.Sprint(got[id]) != fmt.Sprint(want) {
			t.Errorf("%s: status events %v, want %v", id, got[id], want)
		}
	}
}

// TestTrackRedisFlushRecovery: Redis loses everything; the tracked set is
// rebuilt from the JobManager Deployments and the jobs are RUNNING again.
func TestTrackRedisFlushRecovery(t *testing.T) {
	k, r, cp := testenv.Kafka(t), testenv.Redis(t), kubetest.Shared(t)
	ns := "track-flush"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	sim, hc := startSim(t)
	cfg := fastConfig(k, r, "r1", ns)
	cfg.Track.RecoveryInterval = time.Second
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: clusters, HTTPClient: hc}))
	store := newStore(t, r, cfg.Track.Shards)
	ctx := context.Background()

	var keys []string
	for i := range 3 {
		id := fmt.Sprintf("flushed-%d", i)
		d := flinkCluster(t, cs, ns, id, jobIDOf(i))
		if _, err := kubetest.RunDeployment(ctx, cs, d); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: kubeclusters.RestServiceName(id), Namespace: ns},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: d.Spec.Selector.MatchLabels,
				Ports: []corev1.ServicePort{{Name: "rest", Port: kubeclusters.RestPort, TargetPort: intstr.FromInt32(kubeclusters.RestPort)}}}}
		if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		runningCluster(sim, id, jobIDOf(i))
		ev := deployed(ns, id, jobIDOf(i), restURL(ns, id))
		produce(t, k, cfg.Kafka.Topics().Deployed, ev)
		keys = append(keys, ev.Job.Key())
	}
	for _, key := range keys {
		waitState(t, store, key, messages.StateRunning, 20*time.Second)
	}
	rdb, err := redisclient.New(ctx, redisclient.Config{URL: r.URL(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		j := waitState(t, store, key, messages.StateRunning, 20*time.Second)
		if j.RestEndpoint != restURL(ns, j.Job.ClusterID) || j.RequestID != "req-"+j.Job.ClusterID || j.FlinkJobID == "" {
			t.Errorf("recovered job = %+v", j)
		}
	}
}
