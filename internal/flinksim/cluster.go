package flinksim

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ClusterOptions configures one virtual JobManager.
type ClusterOptions struct {
	// FlinkVersion is reported by /overview and /config (default 1.19.1).
	FlinkVersion string
	// FlinkCommit is the abbreviated commit id (default 5edb5a9).
	FlinkCommit string
	// TaskManagers is the number of TaskManagers (default 1).
	TaskManagers int
	// SlotsPerTaskManager is taskmanager.numberOfTaskSlots (default 4).
	SlotsPerTaskManager int
	// Application makes the cluster an application-mode JobManager: jar
	// endpoints answer 404 (web submission is off) and
	// execution.target is kubernetes-application. Default: session mode.
	Application bool
	// ShutdownOnApplicationFinish mirrors Flink's
	// execution.shutdown-on-application-finish for application clusters:
	// once every job is globally terminal, the cluster vanishes. Flink's
	// default is true; the zero value here (false) is what flinkferry sets.
	ShutdownOnApplicationFinish bool
	// Jobs are pre-seeded at creation, e.g. the single job of an
	// application cluster with its pre-generated job id.
	Jobs []JobSpec
	// Submit is the template for jobs created by POST /jars/{jarid}/run;
	// the request's jobId, parallelism, savepointPath and pipeline.name
	// override it.
	Submit JobSpec
	// OnSubmit, if set, decides each submission instead of Submit; an
	// error makes the run request fail with 500 and the error's text.
	OnSubmit func(req JarRunRequest) (JobSpec, error)
	// Config entries are added to (or override) /jobmanager/config; an
	// empty value removes the key (e.g. state.savepoints.dir, to get
	// Flink's error for a savepoint without a target directory).
	Config map[string]string
	// Clock overrides the server's clock for this cluster.
	Clock Clock
	// AsyncStoreDuration is Flink's rest.async.store-duration: how long a
	// finished asynchronous operation (savepoint, stop, disposal) stays
	// queryable; afterwards its status is 404 and the same trigger id
	// starts a new operation, as in Flink's CompletedOperationCache.
	// Default 5 minutes, Flink's; negative keeps them forever.
	AsyncStoreDuration time.Duration
}

// DefaultAsyncStoreDuration is Flink's rest.async.store-duration default.
const DefaultAsyncStoreDuration = 5 * time.Minute

// Cluster is one virtual JobManager. Its methods are safe for concurrent
// use.
type Cluster struct {
	s     *Server
	name  string
	opts  ClusterOptions
	clock Clock

	requests atomic.Int64

	mu    sync.Mutex
	rnd   *rand.Rand
	cfg   []configEntry
	jobs  map[string]*Job
	order []*Job // creation order
	jars  []*Jar
	ops   map[string]*savepointOp
	// savepoints are the savepoints that exist (completed, not disposed);
	// disposals the disposal operations by trigger id.
	savepoints map[string]bool
	disposals  map[string]*disposalOp
	faults     []*activeFault
	started    time.Time
}

func newCluster(s *Server, name string, opts ClusterOptions) *Cluster {
	if opts.FlinkVersion == "" {
		opts.FlinkVersion = "1.19.1"
	}
	if opts.FlinkCommit == "" {
		opts.FlinkCommit = "5edb5a9"
	}
	if opts.TaskManagers <= 0 {
		opts.TaskManagers = 1
	}
	if opts.SlotsPerTaskManager <= 0 {
		opts.SlotsPerTaskManager = 4
	}
	if opts.AsyncStoreDuration == 0 {
		opts.AsyncStoreDuration = DefaultAsyncStoreDuration
	}
	clock := opts.Clock
	if clock == nil {
		clock = s.clock
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	c := &Cluster{
		s: s, name: name, opts: opts, clock: clock,
		rnd:  rand.New(rand.NewPCG(s.seed, h.Sum64())),
		jobs: map[string]*Job{}, ops: map[string]*savepointOp{},
		savepoints: map[string]bool{}, disposals: map[string]*disposalOp{},
	}
	c.started = clock.Now()
	c.cfg = buildConfig(name, opts)
	for _, spec := range opts.Jobs {
		c.addJob(spec, c.started)
	}
	return c
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Requests returns how many requests reached this cluster.
func (c *Cluster) Requests() int64 { return c.requests.Load() }

// AddJob starts a job now, as if submitted, and returns it. An empty
// spec.ID is generated; an ID already in use returns the existing job.
func (c *Cluster) AddJob(spec JobSpec) *Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.jobs[spec.ID]; j != nil {
		return j
	}
	return c.addJob(spec, c.clock.Now())
}

func (c *Cluster) addJob(spec JobSpec, now time.Time) *Job {
	if spec.ID == "" {
		spec.ID = c.hex(32)
	}
	if !isJobID(spec.ID) {
		panic(fmt.Sprintf("flinksim: job id %q is not 32 lower-case hex characters", spec.ID))
	}
	j := newJob(c, spec, now)
	c.jobs[j.id] = j
	c.order = append(c.order, j)
	return j
}

// Job returns the job with the given id, or nil.
func (c *Cluster) Job(id string) *Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobs[id]
}

// Jobs returns every job in creation order.
func (c *Cluster) Jobs() []*Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Job(nil), c.order...)
}

// Jars returns the uploaded jars, oldest first.
func (c *Cluster) Jars() []Jar {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Jar, len(c.jars))
	for i, j := range c.jars {
		out[i] = *j
	}
	return out
}

// advance brings every job up to the clock and returns the time used.
// Caller holds c.mu.
func (c *Cluster) advance() time.Time {
	now := c.clock.Now()
	for _, j := range c.order {
		j.advance(now)
	}
	c.expireOps(now)
	return now
}

// expireOps forgets the asynchronous operations finished for
// AsyncStoreDuration or longer.
func (c *Cluster) expireOps(now time.Time) {
	keep := c.opts.AsyncStoreDuration
	if keep < 0 {
		return
	}
	for k, op := range c.ops {
		if op.done && now.Sub(op.doneAt) >= keep {
			delete(c.ops, k)
		}
	}
	for k, d := range c.disposals {
		if now.Sub(d.at) >= keep {
			delete(c.disposals, k)
		}
	}
}

// finishedApplication reports whether an application cluster that shuts
// down on finish has no job left that is not globally terminal.
func (c *Cluster) finishedApplication() bool {
	if !c.opts.Application || !c.opts.ShutdownOnApplicationFinish || len(c.order) == 0 {
		return false
	}
	for _, j := range c.order {
		if !j.state.IsGloballyTerminal() {
			return false
		}
	}
	return true
}

// hex returns n random lower-case hex characters. Caller holds c.mu.
func (c *Cluster) hex(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(c.rnd.Uint32())
	}
	return hex.EncodeToString(b)[:n]
}

// uuid returns a random UUID string. Caller holds c.mu.
func (c *Cluster) uuid() string {
	h := c.hex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func isJobID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
