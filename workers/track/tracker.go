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
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// tick is the scheduler's resolution: polls are spread over the interval
// in slots of this length; finished polls are written every flushEvery.
const tick = 250 * time.Millisecond

// outboxPage is how many status events of a shard are read at once.
const outboxPage = 256

// flushEvery is how often finished polls are written between ticks.
const flushEvery = 50 * time.Millisecond

// taskQueue is how many poll tasks wait for a poller at most: one per
// JobManager at a time (in-flight ones are skipped), so it only fills when
// more than this many JobManagers are due and unanswered at once.
const taskQueue = 1 << 14

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
	tasks   chan pollTask
	// statusSlots and metricSlots are the endpoints of each wheel slot.
	statusSlots, metricSlots [][]string
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

// loop ticks until ctx ends. The wheels follow the clock, not the loop:
// a turn slower than a tick (a slow Redis, a busy machine) dispatches the
// slots it missed on the next turn, so no JobManager's poll is skipped or
// delayed by more than the late turn. Between ticks, finished polls are
// written every flushEvery, so a result reaches Redis (and a transition
// its event) within about 50 ms rather than a whole tick.
func (t *Tracker) loop(ctx context.Context) error {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	start := time.Now()
	var n, next int64 // loop turns; next wheel tick to dispatch
	for {
		if n%8 == 0 || t.ownershipChanged() { // every 2 s new jobs; shard changes at once
			if err := t.refresh(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("refreshing tracked jobs", "error", err.Error())
			}
		}
		due := int64(time.Since(start) / tick)
		next = max(next, due-int64(max(t.statusWheel.slots, t.metricWheel.slots))+1) // one turn of each wheel at most
		for ; next <= due; next++ {
			t.dispatch(next)
		}
		t.collect(ctx)
		if n%t.housekeepingTicks() == 0 {
			t.housekeeping(ctx)
		}
		n++
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return nil
			case <-flush.C:
				t.collect(ctx)
			case <-ticker.C:
				waiting = false
			}
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
	shards := make([]int, 0, len(owned))
	for s := range owned {
		shards = append(shards, s)
	}
	keys, err := t.store.ShardKeys(ctx, shards...)
	if err != nil {
		return err
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
	t.statusSlots = spread(t.statusWheel, by)
	t.metricSlots = spread(t.metricWheel, by)
	t.m.jobs.Reset()
	for s, n := range states {
		t.m.jobs.WithLabelValues(string(s)).Set(float64(n))
	}
}

// pollTask is the polls of one JobManager due at one tick. One pool
// goroutine runs them in order (job status first), so a JobManager due
// for both needs one connection, not two.
type pollTask struct {
	endpoint string
	status   bool
	metric   bool
	jobIDs   []string // checkpoints to read with the metrics
	haveConf bool     // the JobManager configuration is cached
}

// dispatch queues the polls due at tick n for the poller pool; a
// JobManager whose previous poll has not returned is skipped, and so is a
// poll the full queue cannot take (counted, retried next interval).
func (t *Tracker) dispatch(n int64) {
	due := map[string]*pollTask{}
	add := func(ep string) *pollTask {
		if p := due[ep]; p != nil {
			return p
		}
		if !t.active(ep) {
			return nil
		}
		p := &pollTask{endpoint: ep}
		due[ep] = p
		return p
	}
	for _, ep := range t.statusSlots[t.statusWheel.at(n)] {
		if p := add(ep); p != nil && !t.inflight[kindStatus+" "+ep] {
			p.status = true
		}
	}
	for _, ep := range t.metricSlots[t.metricWheel.at(n)] {
		p := add(ep)
		if p == nil || t.inflight[kindMetric+" "+ep] {
			continue
		}
		p.metric = true
		for _, k := range t.byEndpoint[ep] {
			if j := t.jobs[k]; j != nil && j.FlinkJobID != "" && !j.State.IsTerminal() {
				p.jobIDs = append(p.jobIDs, j.FlinkJobID)
			}
		}
		_, p.haveConf = t.jmConfig[ep]
	}
	for ep, p := range due {
		if !p.status && !p.metric {
			continue
		}
		select {
		case t.tasks <- *p:
		default:
			t.m.pollSkipped.Inc()
			continue
		}
		if p.status {
			t.inflight[kindStatus+" "+ep] = true
		}
		if p.metric {
			t.inflight[kindMetric+" "+ep] = true
		}
	}
}

// active reports whether the JobManager at ep has a job still tracked.
func (t *Tracker) active(ep string) bool {
	for _, k := range t.byEndpoint[ep] {
		if j := t.jobs[k]; j != nil && !j.State.IsTerminal() {
			return true
		}
	}
	return false
}

// poller runs queued poll tasks until ctx ends; Concurrency of them run,
// so at most that many requests are in flight and their goroutines (and
// grown stacks) are reused rather than started per poll.
func (t *Tracker) poller(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-t.tasks:
			t.poll(ctx, p)
		}
	}
}

// poll runs the polls of p and hands their results to the loop. A
// JobManager that did not answer the job-status poll is not asked for its
// metrics in the same turn: the metric result carries the same error.
func (t *Tracker) poll(ctx context.Context, p pollTask) {
	var statusErr error
	if p.status {
		r := pollResult{kind: kindStatus, endpoint: p.endpoint}
		begin := time.Now()
		r.jobs, r.err = t.flink.JobsOverview(ctx, p.endpoint)
		statusErr = r.err
		t.finish(ctx, r, begin)
	}
	if !p.metric {
		return
	}
	r := pollResult{kind: kindMetric, endpoint: p.endpoint}
	if statusErr != nil && (flinkrest.IsUnavailable(statusErr) || errors.Is(statusErr, context.DeadlineExceeded)) {
		r.err, r.at = statusErr, t.now()
		t.send(ctx, r)
		return
	}
	begin := time.Now()
	mctx, cancel := context.WithTimeout(ctx, t.cfg.ClusterMetricTimeout)
	defer cancel()
	r.overview, r.err = t.flink.Overview(mctx, p.endpoint)
	if r.err == nil && !p.haveConf {
		if conf, err := t.flink.JobManagerConfig(mctx, p.endpoint); err == nil {
			r.jmConfig = cachedConfig(conf)
		}
	}
	if r.err == nil && len(p.jobIDs) > 0 {
		r.cps = make(map[string]*flinkrest.CheckpointStats, len(p.jobIDs))
		for _, id := range p.jobIDs {
			if cp, err := t.flink.LatestCheckpoints(mctx, p.endpoint, id); err == nil {
				r.cps[id] = cp
			}
		}
	}
	t.finish(ctx, r, begin)
}

// cachedConfigKeys are the JobManager configuration entries the tracker
// reads; only they are cached (a full configuration is a few KiB, times
// 10,000 JobManagers).
var cachedConfigKeys = []string{"jobmanager.memory.process.size", "taskmanager.memory.process.size"}

// cachedConfig returns the entries of conf the tracker keeps (never nil).
func cachedConfig(conf map[string]string) map[string]string {
	out := make(map[string]string, len(cachedConfigKeys))
	for _, k := range cachedConfigKeys {
		if v, ok := conf[k]; ok {
			out[k] = v
		}
	}
	return out
}

// finish records a poll's latency and error, and hands it to the loop.
func (t *Tracker) finish(ctx context.Context, r pollResult, begin time.Time) {
	t.m.pollSeconds.WithLabelValues(r.kind).Observe(time.Since(begin).Seconds())
	if r.err != nil {
		t.m.pollErrors.WithLabelValues(r.kind, errorReason(r.err)).Inc()
	}
	r.at = t.now()
	t.send(ctx, r)
}

func (t *Tracker) send(ctx context.Context, r pollResult) {
	select {
	case t.results <- r:
	case <-ctx.Done():
	}
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
	// Unchanged metrics are not written again: a fleet's slots and
	// TaskManagers rarely change, and most checkpoint polls of a job
	// between two checkpoints read the same summary.
	if m != j.Metrics {
		u.Metrics = &m
	}
	if cp := r.cps[j.FlinkJobID]; cp != nil {
		if c := checkpointSummary(cp); !sameCheckpoints(*c, j.Checkpoints) {
			u.Checkpoints = c
		}
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
	if u.Metrics != nil {
		j.Metrics = *u.Metrics
	}
	if u.Checkpoints != nil {
		j.Checkpoints = *u.Checkpoints
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
	var shards []int
	for _, s := range t.owner.Owned() {
		if t.owner.Owns(s) {
			shards = append(shards, s)
		}
	}
	// One round trip reads every owned outbox; a shard with a full page
	// published is read again.
	for len(shards) > 0 {
		boxes, err := t.store.Outboxes(ctx, shards, outboxPage)
		if err != nil && ctx.Err() == nil {
			t.log.Warn("reading status event outboxes", "error", err.Error())
		}
		var again []int
		for _, s := range shards {
			entries := boxes[s]
			if len(entries) == 0 || !t.owner.Owns(s) {
				continue
			}
			acked := make([]string, 0, len(entries))
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
			if len(acked) > 0 && t.store.AckOutbox(ctx, s, acked...) != nil {
				continue
			}
			if len(acked) == outboxPage {
				again = append(again, s)
			}
		}
		shards = again
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
