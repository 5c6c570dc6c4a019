package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/shard"
)

// The worker mode runs the real track worker core: track.NewTracker with
// the real jobstore, shard leases and Flink REST client, without Kafka
// consumption (jobs are registered in Redis by the parent, as the deployed
// handler would) and without Kubernetes (states come from REST alone),
// unless -kubeconfig names an API server to watch and clean up on (the
// suspend mode's Kubernetes variants).

// benchNamespace is the namespace of every benchmark job.
const benchNamespace = "bench"

// benchPrefix is the Redis prefix of the worker's keys.
const benchPrefix = "ff:"

// benchShards is the shard count (the worker's default).
const benchShards = 128

func init() {
	methods["worker"] = method{name: "worker", child: "worker", perHost: true, replicas: 1,
		prepare: registerJobs, childArgs: replicaArgs, lastPolls: workerLastPolls}
	methods["worker-shared"] = method{name: "worker-shared", child: "worker", perHost: false, replicas: 1,
		prepare: registerJobs, childArgs: replicaArgs, lastPolls: workerLastPolls}
}

// workerMethod is the worker with replicas processes.
func workerMethod(replicas int) (method, error) {
	m := methods["worker"]
	m.name = fmt.Sprintf("worker×%d", replicas)
	m.replicas = replicas
	return m, nil
}

func replicaArgs(r int) []string { return []string{"-replica", "bench-" + strconv.Itoa(r)} }

// deployedEvent is what the submit worker would have emitted for job i.
func deployedEvent(cfg loopConfig, i int) *messages.Deployed {
	base := clusterBase(cfg.Sims, i, cfg.PerHost)
	return &messages.Deployed{
		RequestID: "bench-" + clusterName(i), Job: messages.JobRef{Namespace: benchNamespace, ClusterID: clusterName(i)},
		Mode: messages.ModeApplication, FlinkJobID: jobID(i),
		Image:        "registry.example.com/flinkferry/bench@sha256:" + strings.Repeat("0", 64),
		RestEndpoint: base, WebUIURL: base + "/", Time: time.Now().UTC(),
	}
}

func jobKey(i int) string {
	return messages.JobRef{Namespace: benchNamespace, ClusterID: clusterName(i)}.Key()
}

func newStore(rdb redis.UniversalClient) (*jobstore.Store, error) {
	return jobstore.New(rdb, jobstore.Options{Prefix: benchPrefix, Shards: benchShards})
}

// registerJobs registers every job in Redis, as the deployed handler does.
func registerJobs(ctx context.Context, rdb redis.UniversalClient, cfg loopConfig) error {
	store, err := newStore(rdb)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for i := range cfg.Jobs {
		if _, err := store.Register(ctx, deployedEvent(cfg, i), now); err != nil {
			return fmt.Errorf("registering job %d: %w", i, err)
		}
	}
	return nil
}

// workerLastPolls reads the last_poll field of each job's hash
// (docs/redis.md: <prefix>{<shard>}:job:<namespace>/<cluster id>, Unix ms).
func workerLastPolls(ctx context.Context, rdb redis.UniversalClient, jobs int) ([]int64, error) {
	return lastPollFields(ctx, rdb, jobs, func(i int) string { return jobstore.JobHashKey(benchPrefix, benchShards, jobKey(i)) })
}

// runWorker runs one track worker replica until ctx ends.
func runWorker(ctx context.Context, args []string) error {
	var cfg loopConfig
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	cfg.flags(fs)
	replica := fs.String("replica", "bench-0", "replica id")
	brokers := fs.String("brokers", "", "Kafka brokers for status events (empty: events are counted and dropped)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	kubeconfig := fs.String("kubeconfig", "", "watch JobManager Deployments and clean clusters up on this API server (empty: no Kubernetes)")
	kubeQPS := fs.Float64("kube-qps", 0, "requests per second to the API server (0: the worker's default, FLINKFERRY_TRACK_KUBE_QPS)")
	kubeBurst := fs.Int("kube-burst", 0, "request burst to the API server (0: the worker's default)")
	opInterval := fs.Duration("op-interval", 0, "how often operations in flight are advanced (0: the worker's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		// The heap in steady state (after the warm-up), not at exit.
		heap := time.AfterFunc(30*time.Second, func() { writeHeapProfile(strings.TrimSuffix(*profile, ".pprof") + ".heap") })
		defer heap.Stop()
	}
	useSimResolver()

	// The worker's own defaults (envconfig tags), then the benchmark's
	// intervals; no TRACKBENCH_* variable is meant to be set.
	var tc track.TrackConfig
	if err := envconfig.Process("TRACKBENCH_TRACK", &tc); err != nil {
		return err
	}
	tc.JobStatusInterval, tc.ClusterMetricInterval = cfg.Interval, cfg.MetricInterval
	tc.RequestTimeout, tc.Concurrency = cfg.Timeout, cfg.Concurrency
	tc.Shards, tc.RedisPrefix, tc.ReplicaID = benchShards, benchPrefix, *replica
	if *opInterval > 0 {
		tc.OperationInterval = *opInterval
	}
	var clusters *kubeclusters.Set
	if *kubeconfig != "" {
		if *kubeQPS > 0 {
			tc.KubeQPS = float32(*kubeQPS)
		}
		if *kubeBurst > 0 {
			tc.KubeBurst = *kubeBurst
		}
		// As the worker connects: one default cluster, every namespace.
		cs, err := kubeclusters.Connect(kubeclusters.Single(*kubeconfig, tc.RestAccess, tc.Namespaces, []string{"*"}), tc.KubeQPS, tc.KubeBurst)
		if err != nil {
			return err
		}
		clusters = cs
	}

	rdb, err := newRedisClient(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store, err := newStore(rdb)
	if err != nil {
		return err
	}
	log := slog.Default()
	leases, err := shard.New(rdb, shard.Options{Prefix: tc.RedisPrefix, Shards: tc.Shards, ReplicaID: tc.ReplicaID, LeaseTTL: tc.LeaseTTL, Logger: log})
	if err != nil {
		return err
	}
	var pub track.Publisher = &countingPublisher{}
	if *brokers != "" {
		p, topic, err := newBusPublisher(*brokers)
		if err != nil {
			return err
		}
		defer p.Close()
		pub = track.NewStatusPublisher(p, topic)
	}
	flink := flinkrest.New(flinkrest.Options{RequestTimeout: tc.RequestTimeout, UserAgent: "flinkferry-track"})
	reg := prometheus.NewRegistry()
	tr := track.NewTracker(tc, track.Deps{Store: store, Flink: flink, Owner: leases, Publisher: pub, Clusters: clusters, Log: log, Registerer: reg})
	defer logErrorCounts(reg)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return leases.Run(ctx) })
	g.Go(func() error { return tr.Run(ctx) })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if c, ok := pub.(*countingPublisher); ok {
		slog.Info("worker stopped", "status_events", c.n.Load())
	}
	return nil
}

// logErrorCounts logs the worker's poll error and write conflict counters
// at exit, to tell a slow worker from a failing one.
func logErrorCounts(reg *prometheus.Registry) {
	mfs, err := reg.Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		if !strings.HasSuffix(mf.GetName(), "errors_total") && !strings.HasSuffix(mf.GetName(), "conflicts_total") {
			continue
		}
		for _, m := range mf.GetMetric() {
			attrs := []any{"metric", mf.GetName(), "value", m.GetCounter().GetValue()}
			for _, l := range m.GetLabel() {
				attrs = append(attrs, l.GetName(), l.GetValue())
			}
			slog.Info("worker counter", attrs...)
		}
	}
}

// countingPublisher drops status events (none are expected in steady
// state) and counts them.
type countingPublisher struct{ n atomic.Int64 }

func (c *countingPublisher) Publish(ctx context.Context, ev *messages.JobStatusChanged, id string) error {
	c.n.Add(1)
	return nil
}

// newBusPublisher connects the worker's producer to brokers and names
// the status topic.
func newBusPublisher(brokers string) (*bus.Producer, string, error) {
	var cfg bus.Config // the worker's defaults, then the brokers
	if err := envconfig.Process("TRACKBENCH_KAFKA", &cfg); err != nil {
		return nil, "", err
	}
	cfg.Brokers = strings.Split(brokers, ",")
	p, err := bus.NewProducer(cfg, "flinkferry/track")
	return p, cfg.Topics().Status, err
}

// writeHeapProfile writes the live heap to path, logging a failure.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		slog.Warn("heap profile", "error", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		slog.Warn("heap profile", "error", err)
	}
}
