// Command alertbench measures the alert worker's latency for the issue 17
// benchmark: n application jobs RUNNING on simulated JobManagers
// (internal/flinksim) and tracked by the real track worker core, then
// every job failing at once in the simulator; each FAILED status event
// goes through Kafka (kfake) to ONE alert worker replica (a child
// process: the real worker, its own CPU measured from /proc) that posts a
// webhook notice to a receiver in this process. Latency is per job, from
// the moment its Flink job failed to the moment its notice arrived, and
// must stay within the job-status interval + 3 s (the track worker sees a
// failure at its next poll, at most one interval later).
//
//	go tool task bench-alert
//	go run ./hack/alertbench -jobs 1000 -interval 5s -rounds 3
//
// It prints a markdown table (medians over the rounds are the rows'
// "median" line). Subcommand (the parent starts it): worker.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/alert"
	"github.com/flinkferry/flinkferry/workers/track"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/shard"
)

const (
	namespace   = "bench"
	topicPrefix = "alertbench."
	partitions  = 6
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var err error
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		err = runWorker(ctx, os.Args[2:])
	} else {
		err = runBench(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "alertbench:", err)
		stop()
		os.Exit(1)
	}
}

// config are the benchmark's flags.
type config struct {
	jobs     int
	interval time.Duration
	rounds   int
	timeout  time.Duration
}

// result is one round.
type result struct {
	delivered     int
	p50, p95, max time.Duration
	// pathP50, pathP95, pathMax: from the track worker's observation of
	// the failure (the event's time) to the notice: Kafka, the alert
	// worker and the webhook, without the poll wait.
	pathP50, pathP95, pathMax time.Duration
	workerCPU                 time.Duration // the alert worker's CPU from the first failure to the last notice
	wall                      time.Duration // first failure → last notice
	rss                       int64         // the alert worker's peak RSS (VmHWM), bytes
}

func runBench(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("alertbench", flag.ContinueOnError)
	fs.IntVar(&c.jobs, "jobs", 1000, "jobs failing at once")
	fs.DurationVar(&c.interval, "interval", 5*time.Second, "the track worker's job status interval")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds (fresh peers each)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "longest wait for every notice of a round")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.jobs < 1 || c.jobs > 20000 || c.rounds < 1 {
		return errors.New("-jobs must be 1 to 20000 and -rounds >= 1")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []result
	for r := range c.rounds {
		res, err := round(ctx, c, self)
		if err != nil {
			return fmt.Errorf("round %d: %w", r+1, err)
		}
		slog.Warn("round done", "round", r+1, "delivered", res.delivered, "p50", res.p50, "p95", res.p95, "max", res.max, "cpu", res.workerCPU)
		results = append(results, res)
	}
	printTable(os.Stdout, c, results)
	return nil
}

// receiver records when each job's firing notice arrived.
type receiver struct {
	mu      sync.Mutex
	arrived map[string]time.Time
	// observed is when the track worker observed each failure (the
	// notice's time): arrival − observed is the alert path alone.
	observed map[string]time.Time
	done     chan struct{}
	want     int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	var n struct {
		Key    string    `json:"key"`
		Status string    `json:"status"`
		Time   time.Time `json:"time"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, seen := r.arrived[n.Key]; !seen && n.Status == alert.StatusFiring {
		r.arrived[n.Key] = now
		r.observed[n.Key] = n.Time
		if len(r.arrived) == r.want {
			close(r.done)
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// round runs one measurement on fresh peers.
func round(ctx context.Context, c config, self string) (result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rp, err := testenv.StartRedis()
	if err != nil {
		return result{}, err
	}
	defer rp.Stop()
	redisURL := "redis://" + rp.Addr + "/0"
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(partitions), kfake.AllowAutoTopicCreation(),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		return result{}, err
	}
	defer kc.Close()
	brokers := strings.Join(kc.ListenAddrs(), ",")

	sim := flinksim.New(flinksim.ServerOptions{})
	simURL, err := sim.Start()
	if err != nil {
		return result{}, err
	}
	defer sim.Close()
	names := make([]string, c.jobs)
	for i := range names {
		names[i] = fmt.Sprintf("job-%05d", i)
		sim.AddCluster(names[i], flinksim.ClusterOptions{FlinkVersion: "1.20.1", Application: true,
			Jobs: []flinksim.JobSpec{{ID: fmt.Sprintf("%032x", i+1), Name: names[i]}}})
	}

	rcv := &receiver{arrived: map[string]time.Time{}, observed: map[string]time.Time{}, done: make(chan struct{}), want: c.jobs}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	hs := &http.Server{Handler: rcv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	defer hs.Close()

	dir, err := os.MkdirTemp("", "alertbench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, fmt.Appendf(nil, `channels: [{name: bench, url: "http://%s/alerts", template: json}]
rules: [{name: job-failed, severity: critical, match: {to: [FAILED]}, channels: [bench]}]
`, l.Addr()), 0o600); err != nil {
		return result{}, err
	}

	// The track worker core, in this process.
	rdb := redis.NewClient(&redis.Options{Addr: rp.Addr, ContextTimeoutEnabled: true, PoolSize: 64})
	defer rdb.Close()
	store, err := jobstore.New(rdb, jobstore.Options{})
	if err != nil {
		return result{}, err
	}
	now := time.Now().UTC()
	for i, n := range names {
		base := simURL + "/c/" + n
		d := &messages.Deployed{RequestID: "bench-" + n, Job: messages.JobRef{Namespace: namespace, ClusterID: n},
			Mode: messages.ModeApplication, FlinkJobID: fmt.Sprintf("%032x", i+1),
			Image:        "registry.example.com/bench@sha256:" + strings.Repeat("0", 64),
			RestEndpoint: base, WebUIURL: base + "/", Time: now}
		if _, err := store.Register(ctx, d, now); err != nil {
			return result{}, err
		}
	}
	kcfg, err := busConfig(brokers)
	if err != nil {
		return result{}, err
	}
	prod, err := bus.NewProducer(kcfg, "flinkferry/track")
	if err != nil {
		return result{}, err
	}
	defer prod.Close()
	var tc track.TrackConfig
	if err := envconfig.Process("ALERTBENCH_UNSET", &tc); err != nil {
		return result{}, err
	}
	tc.JobStatusInterval, tc.ReplicaID = c.interval, "bench-0"
	leases, err := shard.New(rdb, shard.Options{Prefix: tc.RedisPrefix, Shards: tc.Shards, ReplicaID: tc.ReplicaID, LeaseTTL: tc.LeaseTTL})
	if err != nil {
		return result{}, err
	}
	tr := track.NewTracker(tc, track.Deps{Store: store, Flink: flinkrest.New(flinkrest.Options{RequestTimeout: tc.RequestTimeout}),
		Owner: leases, Publisher: publisher{prod, kcfg.Topics().Status}})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreCanceled(leases.Run(gctx)) })
	g.Go(func() error { return ignoreCanceled(tr.Run(gctx)) })
	defer func() { cancel(); _ = g.Wait() }()

	// The alert worker, a child process.
	cmd := exec.CommandContext(ctx, self, "worker", "-brokers", brokers, "-redis", redisURL, "-rules", rules)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	// Every job RUNNING in Redis, then the alert worker has consumed the
	// RUNNING events (it keeps up within a few seconds).
	if err := waitRunning(ctx, store, c.jobs, 2*time.Minute); err != nil {
		return result{}, err
	}
	time.Sleep(c.interval + 3*time.Second)

	// Every job fails, now.
	failed := make(map[string]time.Time, c.jobs)
	cpu0, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	for _, n := range names {
		j := sim.Cluster(n).Jobs()[0]
		j.Fail("java.lang.RuntimeException: alertbench")
		failed[messages.JobRef{Namespace: namespace, ClusterID: n}.Key()] = time.Now()
	}
	select {
	case <-rcv.done:
	case <-time.After(c.timeout):
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	cpu1, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var lat, path []time.Duration
	var last time.Time
	for k, at := range rcv.arrived {
		lat = append(lat, at.Sub(failed[k]))
		path = append(path, at.Sub(rcv.observed[k]))
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	slices.Sort(path)
	res := result{delivered: len(lat), workerCPU: cpu1 - cpu0, wall: last.Sub(start), rss: peakRSS(cmd.Process.Pid)}
	if len(lat) > 0 {
		res.p50, res.p95, res.max = pct(lat, 50), pct(lat, 95), lat[len(lat)-1]
		res.pathP50, res.pathP95, res.pathMax = pct(path, 50), pct(path, 95), path[len(path)-1]
	}
	return res, nil
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// publisher publishes the tracker's status events to Kafka.
type publisher struct {
	p     *bus.Producer
	topic string
}

func (p publisher) Publish(ctx context.Context, ev *messages.JobStatusChanged, id string) error {
	return p.p.SendWithID(ctx, ev, id, p.topic)
}

// busConfig is the workers' Kafka configuration on brokers.
func busConfig(brokers string) (bus.Config, error) {
	c, err := commonConfig(brokers)
	return c.Kafka, err
}

// commonConfig is the workers' shared configuration (their defaults) on
// the benchmark's brokers.
func commonConfig(brokers string) (worker.Common, error) {
	var c worker.Common
	if err := envconfig.Process("ALERTBENCH_UNSET", &c); err != nil {
		return c, err
	}
	c.Kafka.Brokers, c.Kafka.TopicPrefix = strings.Split(brokers, ","), topicPrefix
	c.Kafka.CreateTopics, c.Kafka.Partitions, c.Kafka.ReplicationFactor = true, partitions, 1
	c.Kafka.SessionTimeout, c.Kafka.HeartbeatInterval, c.Kafka.RebalanceTimeout = 6*time.Second, 300*time.Millisecond, 10*time.Second
	c.Log.Level, c.Log.Format = "warn", "text"
	return c, nil
}

func waitRunning(ctx context.Context, store *jobstore.Store, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		counts, err := store.Count(ctx)
		if err == nil && int(counts[messages.StateRunning]) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jobs RUNNING: %v, want %d", counts, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runWorker runs the alert worker with its defaults on the given peers.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "Kafka brokers")
	redisURL := fs.String("redis", "", "Redis URL")
	rules := fs.String("rules", "", "rules file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	common, err := commonConfig(*brokers)
	if err != nil {
		return err
	}
	var cfg alert.Config
	if err := envconfig.Process("ALERTBENCH_UNSET", &cfg); err != nil {
		return err
	}
	cfg.Common = common
	cfg.Redis = redisclient.Config{URL: *redisURL, Timeout: 3 * time.Second}
	cfg.Alert.RulesFile = *rules
	if err := cfg.Validate(); err != nil {
		return err
	}
	return alert.Run(ctx, cfg)
}

// cpuTime is a process's user + system CPU time (/proc/<pid>/stat).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

// peakRSS is a process's VmHWM in bytes (0 when unknown).
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// pct is the p-th percentile of sorted d (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	return d[max(0, min(len(d)-1, i-1))]
}

func printTable(w io.Writer, c config, rs []result) {
	budget := c.interval + 3*time.Second
	host, _ := os.Hostname()
	fmt.Fprintf(w, "Machine: %s, %d CPUs (%s/%s, %s); %d jobs failing at once, job status interval %s, budget %s, one alert worker replica (webhook channel, JSON template), track worker core and simulator in the parent.\n\n",
		host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, cpuModel(), c.jobs, c.interval, budget)
	fmt.Fprintln(w, "Latency: from the job's failure in the simulator to its notice at the receiver. Alert path: from the track worker's observation (the event's time) to the notice.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| round | delivered | p50 | p95 | max | max / budget | alert path p50 / p95 / max | first failure → last notice | alert worker CPU | CPU / wall | alert worker peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	row := func(name string, r result) {
		fmt.Fprintf(w, "| %s | %d / %d | %s | %s | %s | %.2f | %s / %s / %s | %s | %s | %.0f%% of a core | %.0f MiB |\n", name, r.delivered, c.jobs,
			sec(r.p50), sec(r.p95), sec(r.max), r.max.Seconds()/budget.Seconds(), sec(r.pathP50), sec(r.pathP95), sec(r.pathMax), sec(r.wall), sec(r.workerCPU),
			100*r.workerCPU.Seconds()/max(r.wall.Seconds(), 1e-9), float64(r.rss)/(1<<20))
	}
	for i, r := range rs {
		row(strconv.Itoa(i+1), r)
	}
	if len(rs) > 1 {
		row("median", medianResult(rs))
	}
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// medianResult is the field-wise median of rs.
func medianResult(rs []result) result {
	md := func(f func(result) time.Duration) time.Duration {
		v := make([]time.Duration, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	d := make([]int, len(rs))
	var rss []int64
	for i, r := range rs {
		d[i] = r.delivered
		rss = append(rss, r.rss)
	}
	slices.Sort(d)
	slices.Sort(rss)
	return result{delivered: d[len(d)/2], p50: md(func(r result) time.Duration { return r.p50 }), p95: md(func(r result) time.Duration { return r.p95 }),
		max:     md(func(r result) time.Duration { return r.max }),
		pathP50: md(func(r result) time.Duration { return r.pathP50 }), pathP95: md(func(r result) time.Duration { return r.pathP95 }),
		pathMax: md(func(r result) time.Duration { return r.pathMax }), wall: md(func(r result) time.Duration { return r.wall }),
		workerCPU: md(func(r result) time.Duration { return r.workerCPU }), rss: rss[len(rss)/2]}
}

// cpuModel is the CPU's model name from /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
