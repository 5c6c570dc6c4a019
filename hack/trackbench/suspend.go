package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// The suspend mode measures issue 14's benchmark: n application jobs
// tracked (RUNNING) by one worker replica (the real tracker core, as the
// worker method), then n suspend requests at once, each handed to the
// real control handler (track.ControlHandler.Handle, called concurrently
// by the parent, against the same Redis), until every job is SUSPENDED
// with the suspend's completed savepoint in its history
// (jobstore.Savepoints). Every run starts from a fresh simulator fleet (a
// suspended job stays FINISHED) and a flushed Redis.
//
// Kubernetes variants: "none" runs the worker without Kubernetes, as the
// tracking benchmark does (the cleanup then has nothing to remove:
// cleanOp succeeds at once); "apiserver" runs it against a real
// kube-apiserver + etcd (internal/kubetest, no controller-manager) holding
// one JobManager Deployment per job, which the suspend deletes; the
// worker's informers watch them and its cleanup calls go through its
// client's rate limiter (KUBE_QPS / KUBE_BURST, the worker's defaults, or
// "apiserver:<qps>" for <qps> and a burst of twice that).

// suspendConfig are the flags of the suspend mode.
type suspendConfig struct {
	jobs           []int
	variants       []kubeVariant
	rounds         int
	savepoint      time.Duration
	interval       time.Duration
	metricInterval time.Duration
	opInterval     time.Duration
	baseline       time.Duration
	timeout        time.Duration
	concurrency    int
	simProcs       int
	logDir         string
	profile        bool
}

// kubeVariant is how the worker runs with Kubernetes.
type kubeVariant struct {
	name  string  // as given: none, apiserver, apiserver:<qps>
	kube  bool    // against the API server, with a Deployment per job
	qps   float64 // the worker's client limit; 0: its default
	burst int
}

// parseKubeVariant reads none, apiserver or apiserver:<qps>.
func parseKubeVariant(s string) (kubeVariant, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "none":
		return kubeVariant{name: s}, nil
	case s == "apiserver":
		return kubeVariant{name: s, kube: true}, nil
	}
	if q, ok := strings.CutPrefix(s, "apiserver:"); ok {
		qps, err := strconv.ParseFloat(q, 64)
		if err == nil && qps > 0 && !math.IsInf(qps, 1) {
			return kubeVariant{name: s, kube: true, qps: qps, burst: int(2 * qps)}, nil
		}
	}
	return kubeVariant{}, fmt.Errorf("-kube: %q is not none, apiserver or apiserver:<qps>", s)
}

// label describes v in the table, with the worker's default limits.
func (v kubeVariant) label(defQPS float32, defBurst int) string {
	switch {
	case !v.kube:
		return "none (Clusters nil: nothing to clean)"
	case v.qps == 0:
		return fmt.Sprintf("kube-apiserver, KUBE_QPS %g / burst %d (default)", defQPS, defBurst)
	}
	return fmt.Sprintf("kube-apiserver, KUBE_QPS %g / burst %d", v.qps, v.burst)
}

// modeOf returns the value of -mode in args ("track" when absent).
func modeOf(args []string) string {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "mode" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return "track"
}

// suspendResult is one measured run.
type suspendResult struct {
	variant string
	jobs    int
	round   int
	// suspended and failed count the jobs SUSPENDED and those whose
	// operation failed; firstFailure is one failure's reason.
	suspended, failed int
	firstFailure      string
	wall              float64 // s, first request → last SUSPENDED
	p50, p99, max     float64 // s, each job's request → its SUSPENDED
	handleWall        float64 // s, until every Handle call returned
	workerCPU         float64 // s, the worker over the window
	trackingCPU       float64 // s, the worker's tracking-only rate before the window × the window
	handlerCPU        float64 // s, the harness process during the n Handle calls
	redisCmds         float64 // commands of the worker and the handler over the window
	handlerCmds       float64 // of which the handler's
	trackingRedis     float64 // commands per second before the requests (tracking alone)
	redisCPU, simCPU  float64 // s over the window
	rest              float64 // Flink REST requests over the window
	api               float64 // API server requests over the window; -1 without Kubernetes
	apiVerbs          map[string]float64
	byCommand         map[string]int64 // Redis calls by command over the window, everyone's (Lua scripts' inner calls included)
	savepoints        int              // jobs with the suspend's completed savepoint in their history
	left              int              // Deployments left; -1 without Kubernetes
}

func runSuspend(ctx context.Context, args []string) error {
	var c suspendConfig
	fs := flag.NewFlagSet("bench -mode suspend", flag.ContinueOnError)
	fs.String("mode", "suspend", "benchmark: track (polling) or suspend (this one)")
	jobs := fs.String("jobs", "100,1000", "job counts, comma-separated")
	kube := fs.String("kube", "none,apiserver", "Kubernetes variants, comma-separated: none, apiserver, apiserver:<qps>")
	fs.IntVar(&c.rounds, "rounds", 1, "rounds; each runs every variant once, in a rotating order")
	fs.DurationVar(&c.savepoint, "savepoint-duration", 2*time.Second, "simulated time a stop-with-savepoint takes")
	fs.DurationVar(&c.interval, "interval", 5*time.Second, "job status interval")
	fs.DurationVar(&c.metricInterval, "metric-interval", 10*time.Second, "cluster metric interval")
	fs.DurationVar(&c.opInterval, "op-interval", 0, "operation interval (0: the worker's default, OPERATION_INTERVAL)")
	fs.DurationVar(&c.baseline, "baseline", 0, "tracking-only CPU measured over this long before the requests (0: one metric interval)")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "longest wait for every job to be SUSPENDED")
	fs.IntVar(&c.concurrency, "concurrency", 256, "Flink REST requests in flight in the worker")
	fs.IntVar(&c.simProcs, "sims", 2, "simulator processes")
	fs.StringVar(&c.logDir, "logs", "", "directory for the children's logs (default: a new temporary one)")
	fs.BoolVar(&c.profile, "profile", false, "write a CPU profile of every worker into the logs directory")
	nofile := fs.Uint64("nofile", 1<<18, "open-file limit for this process and its children")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for s := range strings.SplitSeq(*jobs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 || n > 99999 {
			return fmt.Errorf("-jobs: %q is not a number from 1 to 99999", s)
		}
		c.jobs = append(c.jobs, n)
	}
	for s := range strings.SplitSeq(*kube, ",") {
		v, err := parseKubeVariant(s)
		if err != nil {
			return err
		}
		c.variants = append(c.variants, v)
	}
	if c.rounds < 1 {
		return errors.New("-rounds must be >= 1")
	}
	if c.baseline <= 0 {
		c.baseline = c.metricInterval
	}
	if c.logDir == "" {
		d, err := os.MkdirTemp("", "trackbench-suspend-")
		if err != nil {
			return err
		}
		c.logDir = d
	}
	slog.Info("children's logs", "dir", c.logDir)
	raiseNofile(*nofile)

	// The worker's own defaults, for the table.
	var defaults track.TrackConfig
	if err := envconfig.Process("TRACKBENCH_TRACK", &defaults); err != nil {
		return err
	}
	if c.opInterval <= 0 {
		c.opInterval = defaults.OperationInterval
	}

	rs, err := testenv.StartRedis()
	if err != nil {
		return err
	}
	defer rs.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true, ReadTimeout: 10 * time.Second})
	defer rdb.Close()
	own := &commandCounter{}
	rdb.AddHook(own)
	// The control handler's own client, as the worker has one.
	hrdb := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
	defer hrdb.Close()
	handlerCmds := &commandCounter{}
	hrdb.AddHook(handlerCmds)
	pid, err := redisPID(ctx, rdb)
	if err != nil {
		return err
	}
	e := &suspendEnv{cfg: c, rdb: rdb, own: own, hrdb: hrdb, handlerCmds: handlerCmds, redisAddr: rs.Addr, redisPID: pid}
	if slices.ContainsFunc(c.variants, func(v kubeVariant) bool { return v.kube }) {
		k, err := startKube(ctx, filepath.Join(c.logDir, "kube"))
		if err != nil {
			return err
		}
		defer k.stop()
		e.kube = k
	}

	var results []suspendResult
	for _, n := range c.jobs {
		for r := range c.rounds {
			for k := range c.variants {
				v := c.variants[(k+r)%len(c.variants)]
				res, err := e.run(ctx, v, n, r)
				if err != nil {
					return fmt.Errorf("suspend %s, %d jobs, round %d: %w", v.name, n, r+1, err)
				}
				slog.Info("run", "kube", v.name, "jobs", n, "round", r+1, "suspended", res.suspended, "failed", res.failed,
					"wall", round3(res.wall), "p50", round3(res.p50), "p99", round3(res.p99),
					"worker_cpu", round3(res.workerCPU), "tracking_cpu", round3(res.trackingCPU), "handler_cpu", round3(res.handlerCPU),
					"redis_cmds", res.redisCmds, "rest", res.rest, "api", res.api, "savepoints", res.savepoints, "left", res.left)
				results = append(results, res)
			}
		}
	}
	fmt.Println(machine())
	fmt.Printf("suspend: one worker replica, status every %s, metrics every %s, operations every %s; stop-with-savepoint takes %s (simulated); %d rounds, medians\n\n",
		c.interval, c.metricInterval, c.opInterval, c.savepoint, c.rounds)
	labels := map[string]string{}
	for _, v := range c.variants {
		labels[v.name] = v.label(defaults.KubeQPS, defaults.KubeBurst)
	}
	printSuspendTable(os.Stdout, results, c.variants, labels)
	return nil
}

// suspendEnv is what every suspend run shares.
type suspendEnv struct {
	cfg         suspendConfig
	rdb         *redis.Client   // the parent's reads
	own         *commandCounter // their commands
	hrdb        *redis.Client   // the control handler's
	handlerCmds *commandCounter
	redisAddr   string
	redisPID    int
	kube        *kubeEnv // nil without a Kubernetes variant
}

// suspendRequestID is the request id of job i's suspend.
func suspendRequestID(i int) string { return "suspend-" + clusterName(i) }

// run measures one variant over jobs once.
func (e *suspendEnv) run(ctx context.Context, v kubeVariant, jobs, round int) (suspendResult, error) {
	res := suspendResult{variant: v.name, jobs: jobs, round: round, api: -1, left: -1}
	dir := filepath.Join(e.cfg.logDir, fmt.Sprintf("%s-%d-r%d", strings.ReplaceAll(v.name, ":", "-"), jobs, round+1))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	// A fresh fleet: a suspended job stays FINISHED in its simulator.
	sims, err := startSims(jobs, e.cfg.simProcs, dir, "-savepoint-duration", e.cfg.savepoint.String())
	if err != nil {
		return res, err
	}
	defer sims.stop()
	if err := e.rdb.FlushDB(ctx).Err(); err != nil {
		return res, fmt.Errorf("flushing redis: %w", err)
	}
	if v.kube {
		t := time.Now()
		if err := e.kube.createDeployments(ctx, jobs); err != nil {
			return res, err
		}
		slog.Info("JobManager Deployments created", "jobs", jobs, "took", time.Since(t).Round(time.Millisecond))
	}
	cfg := loopConfig{
		Sims: sims.addrs(), Redis: e.redisAddr, Jobs: jobs, Interval: e.cfg.interval,
		MetricInterval: e.cfg.metricInterval, PerHost: true, Concurrency: e.cfg.concurrency, Timeout: 3 * time.Second,
	}
	if err := registerJobs(ctx, e.rdb, cfg); err != nil {
		return res, err
	}
	args := append([]string{"worker"}, cfg.args()...)
	args = append(args, "-op-interval", e.cfg.opInterval.String())
	if v.kube {
		args = append(args, "-kubeconfig", e.kube.kubeconfig)
		if v.qps > 0 {
			args = append(args, "-kube-qps", strconv.FormatFloat(v.qps, 'g', -1, 64), "-kube-burst", strconv.Itoa(v.burst))
		}
	}
	if e.cfg.profile {
		args = append(args, "-cpuprofile", filepath.Join(dir, "worker.pprof"))
	}
	c, err := startChild(filepath.Join(dir, "worker.log"), args)
	if err != nil {
		return res, err
	}
	defer c.stop()
	children := []*child{c}
	pid := c.cmd.Process.Pid

	store, err := newStore(e.rdb)
	if err != nil {
		return res, err
	}
	keys := make([]string, jobs)
	for i := range keys {
		keys[i] = jobKey(i)
	}
	if err := waitRunning(ctx, store, keys, 2*time.Minute, children); err != nil {
		return res, err
	}

	// Tracking alone: the worker's CPU and Redis rates before the
	// requests.
	base0, err := e.snapshot(ctx, pid, sims)
	if err != nil {
		return res, err
	}
	bt := time.Now()
	if err := sleep(ctx, e.cfg.baseline, children); err != nil {
		return res, err
	}
	base1, err := e.snapshot(ctx, pid, sims)
	if err != nil {
		return res, err
	}
	bsecs := time.Since(bt).Seconds()
	trackingRate := (base1.worker - base0.worker).Seconds() / bsecs
	res.trackingRedis = float64(base1.redisCmds-base0.redisCmds-(base1.ownCmds-base0.ownCmds)) / bsecs

	// The window: from the first request until every job is settled.
	snap0, err := e.snapshot(ctx, pid, sims)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	reqAt, handlerCPU, err := e.fire(ctx, jobs)
	if err != nil {
		return res, err
	}
	res.handleWall = time.Since(t0).Seconds()
	res.handlerCPU = handlerCPU.Seconds()
	at, failures, err := waitSuspended(ctx, e.rdb, keys, e.cfg.timeout, children)
	if err != nil {
		return res, err
	}
	snap1, err := e.snapshot(ctx, pid, sims)
	if err != nil {
		return res, err
	}
	window := time.Since(t0).Seconds()

	var lat []float64
	first, last := reqAt[0], time.Time{}
	for i, t := range at {
		first = minTime(first, reqAt[i])
		if t.IsZero() {
			continue
		}
		res.suspended++
		lat = append(lat, t.Sub(reqAt[i]).Seconds())
		if t.After(last) {
			last = t
		}
	}
	res.failed = len(failures)
	if len(failures) > 0 {
		k := slices.Min(slices.Collect(maps.Keys(failures)))
		res.firstFailure = k + ": " + failures[k]
	}
	if !last.IsZero() {
		res.wall = last.Sub(first).Seconds()
	}
	res.p50, res.p99, res.max = percentile(lat, 50), percentile(lat, 99), percentile(lat, 100)
	res.workerCPU = (snap1.worker - snap0.worker).Seconds()
	res.trackingCPU = trackingRate * window
	res.handlerCmds = float64(snap1.handlerCmds - snap0.handlerCmds)
	res.redisCmds = float64(snap1.redisCmds - snap0.redisCmds - (snap1.ownCmds - snap0.ownCmds))
	res.redisCPU = (snap1.redisCPU - snap0.redisCPU).Seconds()
	res.simCPU = (snap1.simCPU - snap0.simCPU).Seconds()
	res.rest = float64(snap1.rest - snap0.rest)
	res.byCommand = map[string]int64{}
	for cmd, n := range snap1.byCommand {
		if d := n - snap0.byCommand[cmd]; d > 0 {
			res.byCommand[cmd] = d
		}
	}
	if v.kube {
		res.apiVerbs, res.api = map[string]float64{}, 0
		for verb, n := range snap1.api {
			if d := n - snap0.api[verb]; d > 0 {
				res.apiVerbs[verb] = d
				res.api += d
			}
		}
		if res.left, err = e.kube.deploymentsLeft(ctx); err != nil {
			return res, err
		}
	}
	res.savepoints, err = countSavepoints(ctx, store, keys)
	return res, err
}

// snapshot is what a run reads at both ends of its window.
type snapshot struct {
	worker, redisCPU, simCPU        time.Duration
	redisCmds, ownCmds, handlerCmds int64
	rest                            int64
	api                             map[string]float64 // API server requests by verb
	byCommand                       map[string]int64   // Redis calls by command (INFO commandstats)
}

func (e *suspendEnv) snapshot(ctx context.Context, pid int, sims simFleet) (snapshot, error) {
	var s snapshot
	var err error
	if s.worker, err = cpuTime(pid); err != nil {
		return s, err
	}
	if s.redisCPU, err = cpuTime(e.redisPID); err != nil {
		return s, err
	}
	if s.simCPU, err = sims.cpu(); err != nil {
		return s, err
	}
	s.ownCmds = e.own.n.Load() // counts the INFOs below, which the server's total does not
	s.handlerCmds = e.handlerCmds.n.Load()
	if s.redisCmds, err = redisCommands(ctx, e.rdb); err != nil {
		return s, err
	}
	if s.byCommand, err = redisCommandStats(ctx, e.rdb); err != nil {
		return s, err
	}
	if s.rest, err = sims.requests(); err != nil {
		return s, err
	}
	if e.kube != nil {
		if s.api, err = e.kube.requests(ctx); err != nil {
			return s, err
		}
	}
	return s, nil
}

// fire hands jobs suspend requests to the control handler at once, one
// goroutine each, and returns each request's time and the CPU the parent
// used meanwhile (the handler's: the parent does nothing else then).
func (e *suspendEnv) fire(ctx context.Context, jobs int) ([]time.Time, time.Duration, error) {
	store, err := newStore(e.hrdb)
	if err != nil {
		return nil, 0, err
	}
	refusals := &refusalCounter{}
	h := &track.ControlHandler{Store: store, Refusals: refusals}
	reqs := make([]*messages.ControlRequested, jobs)
	for i := range reqs {
		reqs[i] = &messages.ControlRequested{
			RequestID: suspendRequestID(i), Job: messages.JobRef{Namespace: benchNamespace, ClusterID: clusterName(i)},
			Operation: messages.OpSuspend,
		}
		if err := reqs[i].Validate(); err != nil {
			return nil, 0, err
		}
	}
	reqAt := make([]time.Time, jobs)
	errs := make([]error, jobs)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() {
			<-start
			reqAt[i] = time.Now()
			_, errs[i] = h.Handle(ctx, reqs[i])
		})
	}
	cpu0 := selfCPU()
	close(start)
	wg.Wait()
	cpu := selfCPU() - cpu0
	if err := errors.Join(errs...); err != nil {
		return nil, 0, fmt.Errorf("control handler (%d refused): %w", refusals.n.Load(), err)
	}
	return reqAt, cpu, nil
}

// refusalCounter counts refused control requests (none are expected).
type refusalCounter struct{ n atomic.Int64 }

func (r *refusalCounter) PublishRefusal(context.Context, *messages.ControlRefused, string) error {
	r.n.Add(1)
	return nil
}

// selfCPU is the user + system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitRunning waits until every job is RUNNING in Redis.
func waitRunning(ctx context.Context, store *jobstore.Store, keys []string, timeout time.Duration, children []*child) error {
	deadline := time.Now().Add(timeout)
	for {
		js, err := store.GetMany(ctx, keys)
		if err != nil {
			return err
		}
		states := map[messages.JobState]int{}
		for _, j := range js {
			if j != nil {
				states[j.State]++
			}
		}
		if states[messages.StateRunning] == len(keys) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not every job RUNNING after %s: %v", timeout, states)
		}
		if err := sleep(ctx, 250*time.Millisecond, children); err != nil {
			return err
		}
	}
}

// waitSuspended polls Redis until every job is SUSPENDED or its suspend
// failed, and returns when each became SUSPENDED (its state_since, the
// worker's clock, so the poll's period costs no precision) and the failed
// ones' reasons. It logs progress every 10 s. It reads only the fields it
// needs (docs/redis.md), so that its reads weigh little on the machine
// the worker runs on.
func waitSuspended(ctx context.Context, rdb *redis.Client, keys []string, timeout time.Duration, children []*child) ([]time.Time, map[string]string, error) {
	at := make([]time.Time, len(keys))
	failures := map[string]string{}
	pending := make([]int, len(keys))
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for len(pending) > 0 {
		js, err := readOpStates(ctx, rdb, keys, pending)
		if err != nil {
			return nil, nil, err
		}
		var still []int
		states, phases := map[string]int{}, map[string]int{}
		for k, j := range js {
			i := pending[k]
			switch {
			case j.state == "":
				failures[keys[i]] = "the job left Redis"
			case j.state == string(messages.StateSuspended):
				at[i] = time.UnixMilli(j.since)
			case j.requestID == suspendRequestID(i) && j.phase == string(ops.Done) && j.result == string(ops.Failed):
				failures[keys[i]] = j.reason + ": " + j.message
			default:
				still = append(still, i)
				states[j.state]++
				phases[j.phase]++
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			slog.Info("waiting for SUSPENDED", "pending", len(pending), "states", fmt.Sprint(states), "phases", fmt.Sprint(phases))
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("%d of %d jobs not SUSPENDED after %s: states %v, operation phases %v", len(pending), len(keys), timeout, states, phases)
		}
		if err := sleep(ctx, 250*time.Millisecond, children); err != nil {
			return nil, nil, err
		}
	}
	return at, failures, nil
}

// opState is a job's state and operation as waitSuspended reads them.
type opState struct {
	state                            string
	since                            int64 // Unix ms
	requestID, phase, result, reason string
	message                          string
}

// readOpStates reads the state and operation fields of the jobs keys[i],
// i in which, in one pipeline.
func readOpStates(ctx context.Context, rdb *redis.Client, keys []string, which []int) ([]opState, error) {
	cmds := make([]*redis.SliceCmd, len(which))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, i := range which {
			cmds[k] = p.HMGet(ctx, jobstore.JobHashKey(benchPrefix, benchShards, keys[i]), "state", "state_since", "op_request_id", "op_phase", "op_result", "op_reason", "op_message")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading job states: %w", err)
	}
	out := make([]opState, len(which))
	for k, c := range cmds {
		v := c.Val()
		str := func(n int) string {
			s, _ := v[n].(string)
			return s
		}
		since, _ := strconv.ParseInt(str(1), 10, 64)
		out[k] = opState{state: str(0), since: since, requestID: str(2), phase: str(3), result: str(4), reason: str(5), message: str(6)}
	}
	return out, nil
}

// countSavepoints counts the jobs whose savepoint history holds their
// suspend's completed savepoint.
func countSavepoints(ctx context.Context, store *jobstore.Store, keys []string) (int, error) {
	n := 0
	for i, k := range keys {
		sps, err := store.Savepoints(ctx, k, 10)
		if err != nil {
			return 0, err
		}
		for _, sp := range sps {
			if sp.RequestID == suspendRequestID(i) && sp.Result == ops.Completed && sp.Path != "" && sp.Trigger == jobstore.TriggerSuspend {
				n++
				break
			}
		}
	}
	return n, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// printSuspendTable writes the medians over rounds of each variant and
// job count as a markdown table, then the ratios of the largest job count
// to the smallest.
func printSuspendTable(w io.Writer, results []suspendResult, variants []kubeVariant, labels map[string]string) {
	type key struct {
		variant string
		jobs    int
	}
	groups := map[key][]suspendResult{}
	var jobs []int
	for _, r := range results {
		groups[key{r.variant, r.jobs}] = append(groups[key{r.variant, r.jobs}], r)
		if !slices.Contains(jobs, r.jobs) {
			jobs = append(jobs, r.jobs)
		}
	}
	med := medianOf[suspendResult]
	// suspendCPU is the worker's CPU beyond tracking, per job, in ms.
	suspendCPU := func(r suspendResult) float64 { return 1000 * (r.workerCPU - r.trackingCPU) / float64(r.jobs) }
	perJob := func(f func(suspendResult) float64) func(suspendResult) float64 {
		return func(r suspendResult) float64 { return f(r) / float64(r.jobs) }
	}
	fmt.Fprintln(w, "| Kubernetes | jobs | SUSPENDED, savepoint recorded | all SUSPENDED after | request → SUSPENDED p50 | p99 | worker CPU | of which tracking | worker CPU / job beyond tracking | handler CPU / job | Redis commands / job | Flink REST requests / job | API server requests / job | Deployments left |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range jobs {
		for _, v := range variants {
			rs := groups[key{v.name, n}]
			if len(rs) == 0 {
				continue
			}
			api, left := "-", "- (no API server)"
			if v.kube {
				api = fmt.Sprintf("%.1f", med(rs, perJob(func(r suspendResult) float64 { return r.api })))
				left = fmt.Sprintf("%.0f", med(rs, func(r suspendResult) float64 { return float64(r.left) }))
			}
			fmt.Fprintf(w, "| %s | %d | %.0f / %.0f of %d | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f ms | %.2f ms | %.1f | %.1f | %s | %s |\n",
				labels[v.name], n,
				med(rs, func(r suspendResult) float64 { return float64(r.suspended) }),
				med(rs, func(r suspendResult) float64 { return float64(r.savepoints) }), n,
				med(rs, func(r suspendResult) float64 { return r.wall }),
				med(rs, func(r suspendResult) float64 { return r.p50 }),
				med(rs, func(r suspendResult) float64 { return r.p99 }),
				med(rs, func(r suspendResult) float64 { return r.workerCPU }),
				med(rs, func(r suspendResult) float64 { return r.trackingCPU }),
				med(rs, suspendCPU),
				med(rs, perJob(func(r suspendResult) float64 { return 1000 * r.handlerCPU })),
				med(rs, perJob(func(r suspendResult) float64 { return r.redisCmds })),
				med(rs, perJob(func(r suspendResult) float64 { return r.rest })),
				api, left)
		}
	}
	fmt.Fprintln(w)
	if len(jobs) > 1 {
		lo, hi := slices.Min(jobs), slices.Max(jobs)
		for _, v := range variants {
			a, b := groups[key{v.name, lo}], groups[key{v.name, hi}]
			if len(a) == 0 || len(b) == 0 {
				continue
			}
			wall := func(r suspendResult) float64 { return r.wall }
			fmt.Fprintf(w, "%s: %d / %d jobs: all SUSPENDED after %.2f×, worker CPU per job beyond tracking %.2f×\n",
				labels[v.name], hi, lo, med(b, wall)/med(a, wall), med(b, suspendCPU)/med(a, suspendCPU))
		}
	}
	for _, r := range results {
		if r.apiVerbs != nil {
			verbs := slices.Sorted(maps.Keys(r.apiVerbs))
			parts := make([]string, len(verbs))
			for i, v := range verbs {
				parts[i] = fmt.Sprintf("%s %.0f", v, r.apiVerbs[v])
			}
			fmt.Fprintf(w, "API requests, %s, %d jobs, round %d: %s\n", labels[r.variant], r.jobs, r.round+1, strings.Join(parts, ", "))
		}
		if r.failed > 0 {
			fmt.Fprintf(w, "%s, %d jobs, round %d: %d suspends failed, e.g. %s\n", labels[r.variant], r.jobs, r.round+1, r.failed, r.firstFailure)
		}
	}
	for _, r := range results {
		cmds := slices.SortedFunc(maps.Keys(r.byCommand), func(a, b string) int { return int(r.byCommand[b] - r.byCommand[a]) })
		parts := make([]string, 0, 12)
		for _, c := range cmds[:min(len(cmds), 12)] {
			parts = append(parts, fmt.Sprintf("%s %.1f", c, float64(r.byCommand[c])/float64(r.jobs)))
		}
		fmt.Fprintf(w, "Redis calls per job, %s, %d jobs, round %d (the harness's reads included): %s\n", r.variant, r.jobs, r.round+1, strings.Join(parts, ", "))
	}
	for _, r := range results {
		fmt.Fprintf(w, "run %s, %d jobs, round %d: every Handle returned after %.2f s; request → SUSPENDED max %.2f s; Redis CPU %.2f s, simulator CPU %.2f s; Redis commands %.0f (the handler's %.0f; tracking alone before: %.0f/s)\n",
			r.variant, r.jobs, r.round+1, r.handleWall, r.max, r.redisCPU, r.simCPU, r.redisCmds, r.handlerCmds, r.trackingRedis)
	}
}
