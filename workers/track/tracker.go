package track

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/jobstore"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// tick is the scheduler's resolution: polls are spread over the interval
// in slots of this length, and results are written to Redis once per tick.
const tick = 250 * time.Millisecond

// Store is what the tracker needs from Redis (internal/jobstore.Store).
type Store interface {
	Register(ctx context.Context, d *messages.Deployed, now time.Time) (jobstore.RegisterResult, error)
	ShardKeys(ctx context.Context, shard int) ([]string, error)
	GetMany(ctx context.Context, keys []string) ([]*jobstore.Job, error)
	Apply(ctx context.Context, updates []jobstore.Update) ([]jobstore.Result, error)
	Outbox(ctx context.Context, shard, max int) ([]jobstore.OutboxEntry, error)
	AckOutbox(ctx context.Context, shard int, ids ...string) error
	Sweep(ctx context.Context, now time.Time) (int, error)
}

// Flink is what the tracker needs from Flink's REST API
// (internal/flinkrest.Client). base is a JobManager's REST endpoint.
type Flink interface {
	JobsOverview(ctx context.Context, base string) ([]flinkrest.JobOverview, error)
	Overview(ctx context.Context, base string) (*flinkrest.ClusterOverview, error)
	JobManagerConfig(ctx context.Context, base string) (map[string]string, error)
	Checkpoints(ctx context.Context, base, jobID string) (*flinkrest.CheckpointStats, error)
}

// ShardOwner says which shards this replica polls (workers/track/shard.Manager).
type ShardOwner interface {
	Owns(shard int) bool
	Owned() []int
}

// Publisher publishes a status event with a stable id.
type Publisher interface {
	Publish(ctx context.Context, ev *messages.JobStatusChanged, id string) error
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

	results chan pollResult
	// kick asks the publisher to drain the outboxes now (a transition was
	// written); it runs apart so a slow Kafka never holds up polling.
	kick  chan struct{}
	mu    sync.Mutex
	dirty map[string]bool // "<kube>/<namespace>/<cluster id>" changed in Kubernetes
}

// pollResult is one finished poll of one JobManager.
type pollResult struct {
	kind     string // job_status or cluster_metric
	endpoint string
	at       time.Time
	jobs     []flinkrest.JobOverview
	overview *flinkrest.ClusterOverview
	jmConfig map[string]string
	cps      map[string]*flinkrest.CheckpointStats
	err      error
}

const (
	kindStatus = "job_status"
	kindMetric = "cluster_metric"
)

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
		owned: map[int]bool{}, inflight: map[string]bool{}, jmConfig: map[string]map[string]string{},
		results: make(chan pollResult, 4096), dirty: map[string]bool{}, kick: make(chan struct{}, 1),
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

// loop ticks until ctx ends.
func (t *Tracker) loop(ctx context.Context) error {
	sem := make(chan struct{}, t.cfg.Concurrency)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var n int64
	for {
		if n%8 == 0 || t.ownershipChanged() { // every 2 s new jobs; shard changes at once
			if err := t.refresh(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("refreshing tracked jobs", "error", err.Error())
			}
		}
		t.dispatch(ctx, n, sem)
		t.collect(ctx)
		if n%t.housekeepingTicks() == 0 {
			t.housekeeping(ctx)
		}
		n++
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// ownershipChanged reports whether the owned shards differ from those of
// the last refresh.
func (t *Tracker) ownershipChanged() bool {
	owned := t.owner.Owned()
	if len(owned) != len(t.owned) {
		return true
	}
	for _, s := range owned {
		if !t.owned[s] {
			return true
		}
	}
	return false
}

// refresh reloads the set of jobs of the owned shards from Redis: new
// jobs (registered by any replica), jobs changed by another writer
// (version), shards gained and lost.
func (t *Tracker) refresh(ctx context.Context) error {
	owned := map[int]bool{}
	for _, s := range t.owner.Owned() {
		owned[s] = true
	}
	t.owned = owned
	t.m.shards.Set(float64(len(owned)))
	var keys []string
	for s := range owned {
		k, err := t.store.ShardKeys(ctx, s)
		if err != nil {
			return err
		}
		keys = append(keys, k...)
	}
	want := make(map[string]bool, len(keys))
	var load []string
	for _, k := range keys {
		want[k] = true
		if _, ok := t.jobs[k]; !ok {
			load = append(load, k)
		}
	}
	for k := range t.jobs {
		if !want[k] {
			delete(t.jobs, k)
		}
	}
	if err := t.load(ctx, load); err != nil {
		return err
	}
	t.index()
	return nil
}

// load reads jobs from Redis into the tracked set.
func (t *Tracker) load(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 1000)]
		keys = keys[len(batch):]
		jobs, err := t.store.GetMany(ctx, batch)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j != nil && t.owned[j.Shard] {
				t.jobs[j.Key] = j
			}
		}
	}
	return nil
}

// index groups the tracked jobs by REST endpoint: a session cluster is
// polled once for all its jobs.
func (t *Tracker) index() {
	by := map[string][]string{}
	states := map[messages.JobState]int{}
	for k, j := range t.jobs {
		states[j.State]++
		if j.RestEndpoint != "" {
			by[j.RestEndpoint] = append(by[j.RestEndpoint], k)
		}
	}
	t.byEndpoint = by
	t.m.jobs.Reset()
	for s, n := range states {
		t.m.jobs.WithLabelValues(string(s)).Set(float64(n))
	}
}

// dispatch starts the polls due at tick n, at most Concurrency at once;
// a JobManager whose previous poll has not returned is skipped.
func (t *Tracker) dispatch(ctx context.Context, n int64, sem chan struct{}) {
	for ep, keys := range t.byEndpoint {
		active := false
		for _, k := range keys {
			if j := t.jobs[k]; j != nil && !j.State.IsTerminal() {
				active = true
				break
			}
		}
		if !active {
			continue
		}
		if t.statusWheel.due(ep, n) {
			t.start(ctx, sem, kindStatus, ep, nil)
		}
		if t.metricWheel.due(ep, n) {
			var jobIDs []string
			for _, k := range keys {
				if j := t.jobs[k]; j != nil && j.FlinkJobID != "" && !j.State.IsTerminal() {
					jobIDs = append(jobIDs, j.FlinkJobID)
				}
			}
			t.start(ctx, sem, kindMetric, ep, jobIDs)
		}
	}
}

func (t *Tracker) start(ctx context.Context, sem chan struct{}, kind, ep string, jobIDs []string) {
	id := kind + " " + ep
	if t.inflight[id] {
		return
	}
	t.inflight[id] = true
	_, haveConf := t.jmConfig[ep]
	go func() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-sem }()
		r := pollResult{kind: kind, endpoint: ep}
		begin := time.Now()
		ctx := ctx
		if kind == kindMetric {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, t.cfg.ClusterMetricTimeout)
			defer cancel()
		}
		if kind == kindStatus {
			r.jobs, r.err = t.flink.JobsOverview(ctx, ep)
		} else {
			r.overview, r.err = t.flink.Overview(ctx, ep)
			if r.err == nil && !haveConf {
				r.jmConfig, _ = t.flink.JobManagerConfig(ctx, ep)
			}
			if r.err == nil && len(jobIDs) > 0 {
				r.cps = map[string]*flinkrest.CheckpointStats{}
				for _, id := range jobIDs {
					if cp, err := t.flink.Checkpoints(ctx, ep, id); err == nil {
						r.cps[id] = cp
					}
				}
			}
		}
		t.m.pollSeconds.WithLabelValues(kind).Observe(time.Since(begin).Seconds())
		if r.err != nil {
			t.m.pollErrors.WithLabelValues(kind, errorReason(r.err)).Inc()
		}
		r.at = t.now()
		select {
		case t.results <- r:
		case <-ctx.Done():
		}
	}()
}

// errorReason is the label of a poll error.
func errorReason(err error) string {
	var fe *flinkrest.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &fe) && fe.StatusCode >= 500:
		return "http_5xx"
	case errors.As(err, &fe):
		return "http_4xx"
	case flinkrest.IsUnavailable(err):
		return "unavailable"
	}
	return "other"
}

// collect turns the finished polls and the Kubernetes changes into
// decisions and writes them in one pipelined batch.
func (t *Tracker) collect(ctx context.Context) {
	now := t.now()
	updates := map[string]*jobstore.Update{}
	seen := map[string]bool{}
	for {
		var r pollResult
		select {
		case r = <-t.results:
		default:
			goto kube
		}
		delete(t.inflight, r.kind+" "+r.endpoint)
		for _, k := range t.byEndpoint[r.endpoint] {
			j := t.jobs[k]
			if j == nil {
				continue
			}
			u := updateOf(updates, j)
			if r.kind == kindStatus {
				t.applyStatus(j, u, r, now)
				seen[k] = true
			} else {
				t.applyMetrics(j, u, r)
			}
		}
	}
kube:
	t.mu.Lock()
	dirty := t.dirty
	t.dirty = map[string]bool{}
	t.mu.Unlock()
	if len(dirty) > 0 {
		for k, j := range t.jobs {
			if seen[k] || !dirty[t.kubeKey(j)] {
				continue
			}
			u := updateOf(updates, j)
			t.decide(j, u, state.REST{Outcome: state.RESTNotPolled}, now)
		}
	}
	t.write(ctx, updates)
}

func updateOf(m map[string]*jobstore.Update, j *jobstore.Job) *jobstore.Update {
	u, ok := m[j.Key]
	if !ok {
		u = &jobstore.Update{Key: j.Key, ExpectVersion: j.Version}
		m[j.Key] = u
	}
	return u
}

// kubeKey is the Flink cluster whose Kubernetes objects decide about j:
// its own, or its session cluster's.
func (t *Tracker) kubeKey(j *jobstore.Job) string {
	id := j.Job.ClusterID
	if j.Mode == messages.ModeSession && j.SessionClusterID != "" {
		id = j.SessionClusterID
	}
	kc := j.Job.KubeCluster
	if kc == "" {
		kc = t.defKube
	}
	return kc + "/" + j.Job.Namespace + "/" + id
}

// kube returns what Kubernetes shows for j; unknown when its cluster is
// not watched.
func (t *Tracker) kube(j *jobstore.Job) state.Kube {
	kc := j.Job.KubeCluster
	if kc == "" {
		kc = t.defKube
	}
	w, ok := t.kubes[kc]
	if !ok {
		return state.Kube{Outcome: state.KubeUnknown}
	}
	id := j.Job.ClusterID
	if j.Mode == messages.ModeSession && j.SessionClusterID != "" {
		id = j.SessionClusterID
	}
	v := w.view(j.Job.Namespace, id)
	if !v.Known {
		return state.Kube{Outcome: state.KubeUnknown}
	}
	return kubeObservation(v.Deployment, v.Pods)
}

// kubeObservation is state.FromKubernetes for a Deployment that may be nil.
func kubeObservation(d *appsv1.Deployment, pods []*corev1.Pod) state.Kube {
	return state.FromKubernetes(d, pods)
}

// applyStatus records a job-status poll of j's JobManager.
func (t *Tracker) applyStatus(j *jobstore.Job, u *jobstore.Update, r pollResult, now time.Time) {
	rest := state.REST{Outcome: state.RESTAnswered}
	if r.err != nil {
		rest = state.REST{Outcome: state.RESTUnreachable, Error: r.err.Error()}
		u.LastError = truncate(r.err.Error(), 256)
	} else {
		if !j.LastPoll.IsZero() {
			t.m.staleness.Observe(r.at.Sub(j.LastPoll).Seconds())
		}
		u.LastPoll = r.at
		for _, o := range r.jobs {
			if o.ID == j.FlinkJobID {
				rest.JobFound = true
				rest.JobState = messages.JobState(o.State)
				u.StartTime, u.EndTime, u.DurationMS = o.StartTime, o.EndTime, o.Duration.Milliseconds()
			}
		}
	}
	t.decide(j, u, rest, now)
}

// decide runs the state machine for j and records a transition in u.
func (t *Tracker) decide(j *jobstore.Job, u *jobstore.Update, rest state.REST, now time.Time) {
	prev := state.Record{State: j.State, Since: j.StateSince, SilentSince: j.SilentSince, Reason: j.Reason}
	d := state.Decide(j.Mode, prev, state.Observation{Time: now, REST: rest, Kube: t.kube(j)}, t.stateCfg)
	if !d.SilentSince.Equal(j.SilentSince) {
		s := d.SilentSince
		u.SilentSince = &s
	}
	if d.State != j.State {
		u.Transition = &jobstore.Transition{To: d.State, Reason: d.Reason, Message: truncate(d.Message, 4096), Time: now}
	}
}

// applyMetrics records a cluster-metric poll.
func (t *Tracker) applyMetrics(j *jobstore.Job, u *jobstore.Update, r pollResult) {
	if r.err != nil {
		return
	}
	if r.jmConfig != nil {
		t.jmConfig[r.endpoint] = r.jmConfig
	}
	conf := t.jmConfig[r.endpoint]
	m := jobstore.Metrics{
		TaskManagers: int64(r.overview.TaskManagers), SlotsTotal: int64(r.overview.SlotsTotal),
		SlotsAvailable: int64(r.overview.SlotsAvailable), RunningJobs: int64(r.overview.JobsRunning),
		FlinkVersion: r.overview.FlinkVersion,
	}
	if conf != nil {
		m.JobManagerMemoryBytes = memoryBytes(conf["jobmanager.memory.process.size"])
		m.TaskManagerMemoryBytes = memoryBytes(conf["taskmanager.memory.process.size"])
	}
	u.Metrics = &m
	if cp := r.cps[j.FlinkJobID]; cp != nil {
		u.Checkpoints = checkpointSummary(cp)
	}
}

// write applies the updates in one pipelined batch and folds the results
// back into the tracked set.
func (t *Tracker) write(ctx context.Context, updates map[string]*jobstore.Update) {
	if len(updates) == 0 {
		return
	}
	batch := make([]jobstore.Update, 0, len(updates))
	for _, u := range updates {
		if t.owner.Owns(t.jobs[u.Key].Shard) {
			batch = append(batch, *u)
		}
	}
	sort.Slice(batch, func(a, b int) bool { return batch[a].Key < batch[b].Key })
	res, err := t.store.Apply(ctx, batch)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("writing job states to Redis", "jobs", len(batch), "error", err.Error())
		}
		return
	}
	var reload []string
	for i, r := range res {
		u := batch[i]
		j := t.jobs[u.Key]
		if r.Conflict {
			t.m.conflicts.Inc()
			reload = append(reload, u.Key)
			continue
		}
		foldUpdate(j, u, r.Version)
		if r.Transitioned {
			t.m.transitions.WithLabelValues(string(u.Transition.To)).Inc()
		}
	}
	if len(reload) > 0 {
		if err := t.load(ctx, reload); err != nil {
			t.log.Warn("reloading jobs after conflicts", "error", err.Error())
		}
	}
	if len(reload) > 0 || anyTransition(batch) {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

func anyTransition(batch []jobstore.Update) bool {
	for _, u := range batch {
		if u.Transition != nil {
			return true
		}
	}
	return false
}

// foldUpdate applies a written update to the in-memory copy.
func foldUpdate(j *jobstore.Job, u jobstore.Update, version int64) {
	j.Version = version
	if !u.LastPoll.IsZero() {
		j.LastPoll = u.LastPoll
	}
	if u.SilentSince != nil {
		j.SilentSince = *u.SilentSince
	}
	if u.Transition != nil {
		j.State, j.Reason, j.Message, j.StateSince = u.Transition.To, u.Transition.Reason, u.Transition.Message, u.Transition.Time
	}
}

// publish drains the outboxes of the owned shards every second and when
// kicked, until ctx ends. Registrations by any replica land in the
// outboxes too, so the periodic pass is needed.
func (t *Tracker) publish(ctx context.Context) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-t.kick:
		}
		t.drainOutbox(ctx)
	}
}

// drainOutbox publishes the pending status events of the owned shards.
func (t *Tracker) drainOutbox(ctx context.Context) {
	for _, s := range t.owner.Owned() {
		if !t.owner.Owns(s) {
			continue
		}
		for {
			entries, err := t.store.Outbox(ctx, s, 256)
			if err != nil || len(entries) == 0 {
				break
			}
			var acked []string
			for _, e := range entries {
				if err := t.pub.Publish(ctx, e.Event, e.EventID); err != nil {
					if ctx.Err() == nil {
						t.log.Warn("publishing status event; will retry", "event_id", e.EventID, "error", err.Error())
					}
					break
				}
				t.m.published.Inc()
				acked = append(acked, e.StreamID)
			}
			if len(acked) > 0 {
				if err := t.store.AckOutbox(ctx, s, acked...); err != nil {
					break
				}
			}
			if len(acked) < len(entries) {
				break
			}
		}
	}
}

// housekeepingTicks is how often housekeeping runs, in ticks: every
// minute, or twice per FinishedClusterRetention when that is shorter.
func (t *Tracker) housekeepingTicks() int64 {
	every := time.Minute
	if r := t.cfg.FinishedClusterRetention / 2; r > 0 && r < every {
		every = max(r, tick)
	}
	return int64(every / tick)
}

// finished reports whether a job ended in Flink (FINISHED, FAILED,
// CANCELED): its application cluster is kept for reading, then removed.
func finished(s messages.JobState) bool {
	return s == messages.StateFinished || s == messages.StateFailed || s == messages.StateCanceled
}

// housekeeping removes expired terminal jobs from Redis and deletes
// application clusters kept past FinishedClusterRetention.
func (t *Tracker) housekeeping(ctx context.Context) {
	if _, err := t.store.Sweep(ctx, t.now()); err != nil && ctx.Err() == nil {
		t.log.Warn("sweeping terminal jobs", "error", err.Error())
	}
	if t.cfg.FinishedClusterRetention <= 0 || t.deleter == nil {
		return
	}
	for _, j := range t.jobs {
		if j.Mode != messages.ModeApplication || !finished(j.State) ||
			t.now().Sub(j.StateSince) < t.cfg.FinishedClusterRetention || !t.owner.Owns(j.Shard) {
			continue
		}
		v := t.kube(j)
		if v.Outcome != state.KubePresent {
			continue
		}
		kc := j.Job.KubeCluster
		if kc == "" {
			kc = t.defKube
		}
		if err := t.deleter(ctx, kc, j.Job.Namespace, j.Job.ClusterID); err != nil {
			t.log.Warn("deleting finished application cluster", "job", j.Key, "error", err.Error())
			continue
		}
		t.log.Info("deleted finished application cluster after retention", "job", j.Key, "state", j.State)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
