package track

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// Store is what the tracker needs from Redis (workers/track/jobstore.Store).
type Store interface {
	Register(ctx context.Context, d *messages.Deployed, now time.Time) (jobstore.RegisterResult, error)
	ShardKeys(ctx context.Context, shards ...int) ([]string, error)
	GetMany(ctx context.Context, keys []string) ([]*jobstore.Job, error)
	Apply(ctx context.Context, updates []jobstore.Update) ([]jobstore.Result, error)
	Outboxes(ctx context.Context, shards []int, max int) (map[int][]jobstore.OutboxEntry, error)
	AckOutbox(ctx context.Context, shard int, ids ...string) error
	Sweep(ctx context.Context, now time.Time) (int, error)
}

// Flink is what the tracker needs from Flink's REST API
// (internal/flinkrest.Client). base is a JobManager's REST endpoint.
type Flink interface {
	JobsOverview(ctx context.Context, base string) ([]flinkrest.JobOverview, error)
	Overview(ctx context.Context, base string) (*flinkrest.ClusterOverview, error)
	JobManagerConfig(ctx context.Context, base string) (map[string]string, error)
	LatestCheckpoints(ctx context.Context, base, jobID string) (*flinkrest.CheckpointStats, error)
}

// ShardOwner says which shards this replica polls (workers/track/shard.Manager).
type ShardOwner interface {
	Owns(shard int) bool
	Owned() []int
}

// DeploymentDeleter deletes an application cluster kept after its job
// finished (its owned objects follow by garbage collection).
type DeploymentDeleter func(ctx context.Context, kubeCluster, namespace, name string) error

// Deps are the tracker's peers.
type Deps struct {
	Store     Store
	Flink     Flink
	Owner     ShardOwner
	Publisher Publisher
	// Clusters are the watched Kubernetes clusters; nil watches none
	// (states then come from Flink's REST API alone).
	Clusters *kubeclusters.Set
	// Log and Registerer default to slog.Default() and no metrics.
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Tracker polls the jobs of the shards this replica owns: Flink REST on
// a wheel spread over each interval, Kubernetes through informers, and
// writes states, metrics and transitions to the store.
type Tracker struct {
	cfg      TrackConfig
	stateCfg state.Config
	store    Store
	flink    Flink
	owner    ShardOwner
	pub      Publisher
	clusters *kubeclusters.Set
	kubes    map[string]*kubeWatcher
	defKube  string
	deleter  DeploymentDeleter
	log      *slog.Logger
	m        *metrics
	now      func() time.Time

	statusWheel, metricWheel wheel

	// Only the loop goroutine touches these.
	jobs       map[string]*jobstore.Job
	byEndpoint map[string][]string
	owned      map[int]bool
	inflight   map[string]bool
	jmConfig   map[string]map[string]string
	// finals are the Flink job ids, by REST endpoint, whose job ended
	// (FINISHED, FAILED, CANCELED) and whose final metric poll is not
	// dispatched yet (finalpoll.go).
	finals map[string][]string

	results chan pollResult
	tasks   chan pollTask
	// statusSlots and metricSlots are the endpoints of each wheel slot.
	statusSlots, metricSlots [][]string
	// kick asks the publisher to drain the outboxes now (a transition was
	// written); it runs apart so a slow Kafka never holds up polling.
	kick  chan struct{}
	mu    sync.Mutex
	dirty map[string]bool // "<kube>/<namespace>/<cluster id>" changed in Kubernetes
}

// NewTracker returns a tracker; Run starts it.
func NewTracker(cfg TrackConfig, d Deps) *Tracker {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	t := &Tracker{
		cfg: cfg, store: d.Store, flink: d.Flink, owner: d.Owner, pub: d.Publisher, clusters: d.Clusters,
		kubes: map[string]*kubeWatcher{}, log: log, m: newMetrics(d.Registerer), now: time.Now,
		stateCfg:    state.Config{SilentKeep: cfg.SilentStateKeep, StartTimeout: cfg.JobStatusTimeout},
		statusWheel: newWheel(cfg.JobStatusInterval, tick),
		metricWheel: newWheel(cfg.ClusterMetricInterval, tick),
		jobs:        map[string]*jobstore.Job{}, byEndpoint: map[string][]string{},
		owned: map[int]bool{}, inflight: map[string]bool{}, jmConfig: map[string]map[string]string{}, finals: map[string][]string{},
		results: make(chan pollResult, 4096), tasks: make(chan pollTask, taskQueue), dirty: map[string]bool{}, kick: make(chan struct{}, 1),
	}
	if d.Clusters != nil {
		for _, cl := range d.Clusters.All() {
			if cl.Default {
				t.defKube = cl.Name
			}
			t.kubes[cl.Name] = newKubeWatcher(cl.Name, cl.Kube, cl.AllowedNamespaces, 10*time.Minute, log, t.kubeChanged(cl.Name))
		}
		t.deleter = func(ctx context.Context, kubeCluster, namespace, name string) error {
			cl, err := d.Clusters.For(messages.JobRef{KubeCluster: kubeCluster, Namespace: namespace, ClusterID: name})
			if err != nil {
				return err
			}
			bg := metav1.DeletePropagationBackground
			return cl.Kube.AppsV1().Deployments(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
		}
	}
	return t
}

// Run tracks until ctx ends: the informers, the recovery from Kubernetes
// and the polling loop. The shard owner runs separately.
func (t *Tracker) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, w := range t.kubes {
		g.Go(func() error { return w.run(ctx) })
	}
	if len(t.kubes) > 0 {
		rec := &recovery{store: t.store, kubes: t.kubes, clusters: t.clusters, log: t.log}
		g.Go(func() error { return rec.run(ctx, t.cfg.RecoveryInterval) })
	}
	for range t.cfg.Concurrency {
		g.Go(func() error { t.poller(ctx); return nil })
	}
	g.Go(func() error { return t.loop(ctx) })
	g.Go(func() error { return t.publish(ctx) })
	return g.Wait()
}

// kubeChanged marks the jobs of a Flink cluster for re-evaluation on the
// next tick (called from informer goroutines).
func (t *Tracker) kubeChanged(kubeCluster string) func(namespace, clusterID string) {
	return func(namespace, clusterID string) {
		t.mu.Lock()
		t.dirty[kubeCluster+"/"+namespace+"/"+clusterID] = true
		t.mu.Unlock()
	}
}
