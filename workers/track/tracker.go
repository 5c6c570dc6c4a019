package track

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// Store is what the tracker needs from Redis (workers/track/jobstore.Store).
type Store interface {
	Register(ctx context.Context, d *messages.Deployed, now time.Time) (jobstore.RegisterResult, error)
	RegisterRecovered(ctx context.Context, d *messages.Deployed, now time.Time) (jobstore.RegisterResult, error)
	ShardKeys(ctx context.Context, shards ...int) ([]string, error)
	GetMany(ctx context.Context, keys []string) ([]*jobstore.Job, error)
	Apply(ctx context.Context, updates []jobstore.Update) ([]jobstore.Result, error)
	Outboxes(ctx context.Context, shards []int, max int) (map[int][]jobstore.OutboxEntry, error)
	AckOutbox(ctx context.Context, shard int, ids ...string) error
	Sweep(ctx context.Context, now time.Time) (int, error)

	// Day-2 operations (opround.go).
	Op(ctx context.Context, key string) (*ops.Op, string, error)
	UpdateOp(ctx context.Context, key, requestID string, expectPhase ops.Phase, next ops.Op, step *jobstore.OpStep) (bool, error)
	ActiveOps(ctx context.Context, shards []int) ([]string, error)
	UnmarkOp(ctx context.Context, key string) error
	Get(ctx context.Context, key string) (*jobstore.Job, error)
	RecordOp(ctx context.Context, key string, op ops.Op, contentHash string) (jobstore.RecordResult, error)
	MarkOp(ctx context.Context, key string) error
	AddSavepoint(ctx context.Context, key string, e jobstore.SavepointEntry) (bool, error)
	TrimSavepoints(ctx context.Context, key string, maxCount int, maxAge time.Duration, now time.Time) ([]jobstore.SavepointEntry, error)
	RemoveSavepoint(ctx context.Context, key, path string) (bool, error)
	Run(ctx context.Context, key string) (*jobstore.Run, error)
	Savepoints(ctx context.Context, key string, n int) ([]jobstore.SavepointEntry, error)
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
	Store Store
	// Flink is the JobManagers' REST API; when it is an OpFlink too (as
	// flinkrest.Client is) day-2 operations can act on them.
	Flink Flink
	// Redeployer publishes resumed jobs for the submit worker; nil fails
	// every resume.
	Redeployer Redeployer
	Owner      ShardOwner
	Publisher  Publisher
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
	cfg        TrackConfig
	stateCfg   state.Config
	store      Store
	flink      Flink
	opFlink    OpFlink
	redeployer Redeployer
	owner      ShardOwner
	pub        Publisher
	clusters   *kubeclusters.Set
	kubes      map[string]*kubeWatcher
	defKube    string
	deleter    DeploymentDeleter
	log        *slog.Logger
	m          *metrics
	now        func() time.Time

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
	// flinkStates are the jobs' states in Flink as last polled, the
	// observation of their operations; opBusy the jobs with a round of
	// their operation in the pool.
	flinkStates map[string]messages.JobState
	opBusy      map[string]bool
	// opsSoon asks the loop to advance the operations on its next turn.
	opsSoon bool
	// periodicSlot is the last periodic savepoint slot handled per job.
	periodicSlot map[string]int64
	// autoNext is when each job's restart policy is checked next
	// (autorestart.go); exceptions reads Flink's exception histories.
	autoNext   map[string]time.Time
	exceptions ExceptionReader
	// autoWarned is, per job, the automatic restart last warned about
	// (the operation pool writes it).
	autoMu     sync.Mutex
	autoWarned map[string]string
	opTasks    chan opRound
	opResults  chan opDone

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
	// Configurations built in code (tests, benchmarks) may leave the
	// operation settings out.
	if cfg.OperationInterval <= 0 {
		cfg.OperationInterval = time.Second
	}
	if cfg.SavepointsMaxCount <= 0 {
		cfg.SavepointsMaxCount = 10
	}
	if cfg.SavepointsMaxAge <= 0 {
		cfg.SavepointsMaxAge = 24 * time.Hour
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
		redeployer: d.Redeployer, flinkStates: map[string]messages.JobState{}, opBusy: map[string]bool{}, periodicSlot: map[string]int64{},
		opTasks: make(chan opRound, opQueue), opResults: make(chan opDone, opQueue),
		autoNext: map[string]time.Time{}, autoWarned: map[string]string{},
	}
	t.exceptions, _ = d.Flink.(ExceptionReader)
	t.opFlink, _ = d.Flink.(OpFlink)
	if t.opFlink == nil {
		t.opFlink = noOpFlink{}
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
			// The whole cluster, HA ConfigMaps included (cleanup.go), as
			// after a cancel or a suspend.
			return cleanCluster(ctx, cl.Kube, namespace, name)
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
	for range t.opWorkers() {
		g.Go(func() error { t.opWorker(ctx); return nil })
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
