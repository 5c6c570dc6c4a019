package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// method is one measured variant: a child process (or several replicas)
// polling the simulator and writing Redis.
type method struct {
	name     string
	child    string // trackbench subcommand of the measured process
	perHost  bool
	replicas int
	// prepare runs before the children start, e.g. to register jobs.
	prepare func(ctx context.Context, rdb redis.UniversalClient, cfg loopConfig) error
	// childArgs are extra arguments of replica r.
	childArgs func(r int) []string
	// lastPolls reads every job's last successful poll (Unix ms, 0 =
	// never) from Redis.
	lastPolls func(ctx context.Context, rdb redis.UniversalClient, jobs int) ([]int64, error)
}

// methods are the variants by name; worker.go adds the track worker's.
var methods = map[string]method{
	"bare-host":   {name: "bare-host", child: "bare", perHost: true, replicas: 1, lastPolls: bareLastPolls},
	"bare-shared": {name: "bare-shared", child: "bare", perHost: false, replicas: 1, lastPolls: bareLastPolls},
	// The bare loop doing the track worker's requests: checkpoints too.
	"bare-host-cp": {name: "bare-host-cp", child: "bare", perHost: true, replicas: 1, lastPolls: bareLastPolls,
		childArgs: func(int) []string { return []string{"-checkpoints"} }},
}

// baseline is the method every other is compared with: the bare loop with
// a connection per JobManager, as against a real fleet.
const baseline = "bare-host"

func bareLastPolls(ctx context.Context, rdb redis.UniversalClient, jobs int) ([]int64, error) {
	return lastPollFields(ctx, rdb, jobs, bareKey)
}

// lastPollFields reads the last_poll field (Unix ms) of the hash key(i) of
// every job in one pipeline: the same read for every method, so the time
// it takes weighs alike on their staleness.
func lastPollFields(ctx context.Context, rdb redis.UniversalClient, jobs int, key func(int) string) ([]int64, error) {
	cmds := make([]*redis.StringCmd, jobs)
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range cmds {
			cmds[i] = p.HGet(ctx, key(i), "last_poll")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading last polls: %w", err)
	}
	out := make([]int64, jobs)
	for i, c := range cmds {
		out[i], _ = c.Int64() // missing: 0, never polled
	}
	return out, nil
}

// benchConfig are the flags of the parent process.
type benchConfig struct {
	jobs           []int
	methods        []string
	interval       time.Duration
	metricInterval time.Duration
	warmup         time.Duration
	window         time.Duration
	rounds         int
	samples        int
	concurrency    int
	logDir         string
	profile        bool
	modes          []string // Redis deployments
}

// runResult is one measured run.
type runResult struct {
	method   string
	jobs     int
	round    int
	cpu      float64 // cores, averaged over the window, all replicas
	busiest  float64 // cores of the busiest replica
	rssMiB   float64 // peak RSS of the largest replica
	p50, p99 float64 // staleness in seconds
	redisOps float64 // commands per second, the parent's own excluded
	redisCPU float64 // cores used by redis-server over the window
	simCPU   float64 // cores used by the simulator over the window
	requests float64 // Flink REST requests per second
}

func runBench(ctx context.Context, args []string) error {
	var c benchConfig
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.String("mode", "track", "benchmark: track (this one: polling) or suspend (day-2 operations, its own flags)")
	jobs := fs.String("jobs", "1000,10000", "job counts, comma-separated")
	names := fs.String("methods", "", "methods, comma-separated: bare-host, bare-host-cp, bare-shared, worker (default: every one available)")
	replicas := fs.Int("replicas", 0, "also run the worker with this many replicas (0: not)")
	fs.DurationVar(&c.interval, "interval", 5*time.Second, "job status interval")
	fs.DurationVar(&c.metricInterval, "metric-interval", 10*time.Second, "cluster metric interval")
	fs.DurationVar(&c.warmup, "warmup", 0, "time before the window (0: two metric intervals)")
	fs.DurationVar(&c.window, "window", 60*time.Second, "measured window per run")
	fs.IntVar(&c.rounds, "rounds", 2, "rounds; each runs every method once, in a rotating order")
	fs.IntVar(&c.samples, "samples", 6, "staleness samples per window")
	fs.IntVar(&c.concurrency, "concurrency", 256, "Flink REST requests in flight per process")
	fs.StringVar(&c.logDir, "logs", "", "directory for the children's logs (default: a new temporary one)")
	fs.BoolVar(&c.profile, "profile", false, "write a CPU profile of every worker child into the logs directory")
	simProcs := fs.Int("sims", 2, "simulator processes (each holds the server side of its JobManagers' connections)")
	nofile := fs.Uint64("nofile", 1<<18, "open-file limit for this process and its children (a JobManager may hold two connections)")
	modes := fs.String("redis", "single", "Redis deployments, comma-separated: single, sentinel (master, replica, three Sentinels), cluster (three masters with a replica each); other than single, only the worker methods")
	failJobs := fs.Int("fail", 0, "after the runs, fail this many of the largest -jobs count at once and time their status events (worker)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for s := range strings.SplitSeq(*jobs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-jobs: %q is not a positive number", s)
		}
		c.jobs = append(c.jobs, n)
	}
	if *names == "" {
		var all []string
		for _, m := range []string{"bare-host", "bare-host-cp", "bare-shared", "worker"} {
			if _, ok := methods[m]; ok {
				all = append(all, m)
			}
		}
		*names = strings.Join(all, ",")
	}
	for s := range strings.SplitSeq(*names, ",") {
		if _, ok := methods[s]; !ok {
			return fmt.Errorf("-methods: unknown method %q", s)
		}
		c.methods = append(c.methods, s)
	}
	if *replicas > 1 {
		m, err := workerMethod(*replicas)
		if err != nil {
			return err
		}
		methods[m.name] = m
		c.methods = append(c.methods, m.name)
	}
	for s := range strings.SplitSeq(*modes, ",") {
		if !slices.Contains(redisModes, s) {
			return fmt.Errorf("-redis: unknown deployment %q", s)
		}
		if s != "single" && slices.ContainsFunc(c.methods, func(m string) bool { return !strings.HasPrefix(m, "worker") }) {
			return fmt.Errorf("-redis %s: only the worker methods (-methods worker,...) run on it", s)
		}
		c.modes = append(c.modes, s)
	}
	if c.warmup == 0 {
		c.warmup = 2 * max(c.interval, c.metricInterval)
	}
	if c.logDir == "" {
		d, err := os.MkdirTemp("", "trackbench-")
		if err != nil {
			return err
		}
		c.logDir = d
	}
	slog.Info("children's logs", "dir", c.logDir)

	raiseNofile(*nofile)

	sims, err := startSims(slices.Max(c.jobs), *simProcs, c.logDir)
	if err != nil {
		return err
	}
	defer sims.stop()

	var results []runResult
	var order []string
	var e *env
	for _, mode := range c.modes {
		if e != nil {
			e.redis.close()
		}
		if e, err = newEnv(ctx, c, mode, sims); err != nil {
			return err
		}
		for _, m := range c.methods {
			order = append(order, c.label(m, mode))
		}
		rs, err := e.runAll(ctx)
		if err != nil {
			e.redis.close()
			return err
		}
		results = append(results, rs...)
	}
	defer e.redis.close()
	fmt.Println(machine())
	fmt.Printf("interval %s / %s, window %s after %s warm-up, %d rounds, medians\n\n",
		c.interval, c.metricInterval, c.window, c.warmup, c.rounds)
	printTable(os.Stdout, results, order)
	if len(c.modes) > 1 {
		printModeRatios(os.Stdout, results, c)
	}
	if *failJobs > 0 {
		return e.failBurst(ctx, slices.Max(c.jobs), *failJobs)
	}
	return nil
}

// newEnv starts the Redis deployment mode for the runs.
func newEnv(ctx context.Context, c benchConfig, mode string, sims simFleet) (*env, error) {
	d, err := startRedisDeployment(mode)
	if err != nil {
		return nil, err
	}
	own := &commandCounter{}
	d.rdb.AddHook(own)
	pids, err := d.pids(ctx)
	if err != nil {
		d.close()
		return nil, err
	}
	return &env{cfg: c, mode: mode, redis: d, rdb: d.rdb, own: own, redisAddr: d.spec, redisPIDs: pids, sims: sims}, nil
}

// label names method m's results on deployment mode: the method alone on
// a single Redis when only that one runs.
func (c benchConfig) label(m, mode string) string {
	if len(c.modes) == 1 && mode == "single" {
		return m
	}
	return m + "@" + mode
}

// runAll runs every job count, round and method on e's deployment.
func (e *env) runAll(ctx context.Context) ([]runResult, error) {
	var results []runResult
	c := e.cfg
	for _, n := range c.jobs {
		for r := range c.rounds {
			for k := range c.methods {
				m := methods[c.methods[(k+r)%len(c.methods)]]
				res, err := e.measure(ctx, m, n, r)
				if err != nil {
					return nil, fmt.Errorf("%s on %s, %d jobs, round %d: %w", m.name, e.mode, n, r+1, err)
				}
				res.method = c.label(m.name, e.mode)
				slog.Info("run", "method", res.method, "jobs", n, "round", r+1, "cpu", round3(res.cpu),
					"rss_mib", round3(res.rssMiB), "p50", round3(res.p50), "p99", round3(res.p99),
					"redis_ops", math.Round(res.redisOps), "requests", math.Round(res.requests),
					"redis_cpu", round3(res.redisCPU), "sim_cpu", round3(res.simCPU))
				results = append(results, res)
			}
		}
	}
	return results, nil
}

// env is what every run shares.
type env struct {
	cfg       benchConfig
	mode      string // the Redis deployment
	redis     *redisDeployment
	rdb       redis.UniversalClient
	own       *commandCounter // the parent's own Redis commands
	redisAddr string          // the children's -redis
	redisPIDs []int           // every redis-server holding data
	sims      simFleet
}

// child is one running measured process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// measure runs method m over jobs once: start, warm up, measure the
// window, stop.
func (e *env) measure(ctx context.Context, m method, jobs, round int) (runResult, error) {
	res := runResult{method: m.name, jobs: jobs, round: round}
	if err := e.redis.flush(ctx); err != nil {
		return res, err
	}
	cfg := loopConfig{
		Sims: e.sims.addrs(), Redis: e.redisAddr, Jobs: jobs, Interval: e.cfg.interval,
		MetricInterval: e.cfg.metricInterval, PerHost: m.perHost, Concurrency: e.cfg.concurrency,
		Timeout: 3 * time.Second,
	}
	if m.prepare != nil {
		if err := m.prepare(ctx, e.rdb, cfg); err != nil {
			return res, err
		}
	}
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	for r := range m.replicas {
		args := append([]string{m.child}, cfg.args()...)
		if m.childArgs != nil {
			args = append(args, m.childArgs(r)...)
		}
		name := filepath.Join(e.cfg.logDir, fmt.Sprintf("%s-%d-r%d-%d", m.name, jobs, round+1, r))
		if e.cfg.profile && m.child == "worker" {
			args = append(args, "-cpuprofile", name+".pprof")
		}
		c, err := startChild(name+".log", args)
		if err != nil {
			return res, err
		}
		children = append(children, c)
	}
	if err := sleep(ctx, e.cfg.warmup, children); err != nil {
		return res, err
	}

	t0 := time.Now()
	cpu0, each0, err := cpuTimes(children)
	if err != nil {
		return res, err
	}
	peers0, err := e.peerCPU()
	if err != nil {
		return res, err
	}
	own0 := e.own.n.Load() // counts the INFO below, which the server's total does not
	cmds0, err := e.redis.commands(ctx)
	if err != nil {
		return res, err
	}
	req0, err := e.sims.requests()
	if err != nil {
		return res, err
	}
	var staleness []float64
	for k := range e.cfg.samples {
		at := t0.Add(e.cfg.window * time.Duration(2*k+1) / time.Duration(2*e.cfg.samples))
		if err := sleep(ctx, time.Until(at), children); err != nil {
			return res, err
		}
		// Ages are taken at the middle of the read: 10,000 jobs take a
		// while to read, and a job read early must not age by the rest.
		begin := time.Now()
		polls, err := m.lastPolls(ctx, e.rdb, jobs)
		if err != nil {
			return res, err
		}
		staleness = append(staleness, ages(begin.Add(time.Since(begin)/2), polls)...)
	}
	if err := sleep(ctx, time.Until(t0.Add(e.cfg.window)), children); err != nil {
		return res, err
	}
	cpu1, each1, err := cpuTimes(children)
	if err != nil {
		return res, err
	}
	peers1, err := e.peerCPU()
	if err != nil {
		return res, err
	}
	own1 := e.own.n.Load()
	cmds1, err := e.redis.commands(ctx)
	if err != nil {
		return res, err
	}
	req1, err := e.sims.requests()
	if err != nil {
		return res, err
	}
	secs := time.Since(t0).Seconds()
	for _, c := range children {
		rss, err := peakRSS(c.cmd.Process.Pid)
		if err != nil {
			return res, err
		}
		res.rssMiB = max(res.rssMiB, float64(rss)/(1<<20))
	}
	res.cpu = (cpu1 - cpu0).Seconds() / secs
	for i := range each1 {
		res.busiest = max(res.busiest, (each1[i]-each0[i]).Seconds()/secs)
	}
	res.redisCPU = (peers1[0] - peers0[0]).Seconds() / secs
	res.simCPU = (peers1[1] - peers0[1]).Seconds() / secs
	res.redisOps = float64(cmds1-cmds0-(own1-own0)) / secs
	res.requests = float64(req1-req0) / secs
	res.p50 = percentile(staleness, 50)
	res.p99 = percentile(staleness, 99)
	return res, nil
}

// raiseNofile raises the open-file limit, inherited by the children, to n
// if allowed: a container runtime's default (1,048,576 for containerd) is
// far above the 20,000 of some shells, and the measured process and the
// simulator each hold a connection per JobManager (the bare loop and the
// worker poll a JobManager on one connection; a slow answer can still
// open a second).
func raiseNofile(n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur >= n {
		return
	}
	want := syscall.Rlimit{Cur: n, Max: max(n, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		slog.Warn("open-file limit stays", "limit", lim.Cur, "wanted", n, "err", err)
		return
	}
	slog.Info("open-file limit raised", "from", lim.Cur, "to", n)
}

// peerCPU returns the CPU time used so far by the redis-servers holding
// data and the simulators.
func (e *env) peerCPU() ([2]time.Duration, error) {
	r, err := cpuOf(e.redisPIDs)
	if err != nil {
		return [2]time.Duration{}, err
	}
	s, err := e.sims.cpu()
	return [2]time.Duration{r, s}, err
}

// redisPID asks the server for its process id (INFO server).
func redisPID(ctx context.Context, rdb redis.UniversalClient) (int, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, fmt.Errorf("reading redis INFO server: %w", err)
	}
	pid, err := parseInfoInt(info, "process_id")
	return int(pid), err
}

// cpuTimes returns the CPU time used so far by the children, in total and
// each.
func cpuTimes(children []*child) (time.Duration, []time.Duration, error) {
	var sum time.Duration
	each := make([]time.Duration, len(children))
	for i, c := range children {
		d, err := cpuTime(c.cmd.Process.Pid)
		if err != nil {
			return 0, nil, err
		}
		each[i] = d
		sum += d
	}
	return sum, each, nil
}

// startChild starts this program with args, its output going to logPath.
func startChild(logPath string, args []string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding own executable: %w", err)
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", args[0], err)
	}
	c := &child{cmd: cmd, done: make(chan struct{}), log: log}
	go func() { _ = cmd.Wait(); close(c.done) }()
	return c, nil
}

// stop ends the child with SIGTERM (SIGKILL after 10 s) and waits.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.log.Close()
}

// sleep waits d, failing early when ctx ends or a child exits.
func sleep(ctx context.Context, d time.Duration, children []*child) error {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	for _, c := range children {
		select {
		case <-c.done:
			return fmt.Errorf("%s exited early (%s), see %s", c.cmd.Args[1], c.cmd.ProcessState, c.log.Name())
		default:
		}
	}
	exited := make(chan *child, len(children))
	stop := make(chan struct{})
	defer close(stop)
	for _, c := range children {
		go func() {
			select {
			case <-c.done:
				exited <- c
			case <-stop:
			}
		}()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	case c := <-exited:
		return fmt.Errorf("%s exited early (%s), see %s", c.cmd.Args[1], c.cmd.ProcessState, c.log.Name())
	}
}

// machine describes the machine for BENCHMARKS.md.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	ram := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseStatusKB(string(b), "MemTotal"); err == nil {
			ram = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<30))
		}
	}
	return fmt.Sprintf("machine: %d CPUs (%s), %s RAM, %s", numCPU(), model, ram, goVersion())
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
