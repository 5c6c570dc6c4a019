package track

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/shard"
)

// Config is the track worker's configuration, read from FLINKFERRY_* variables.
type Config struct {
	worker.Common
	Redis redisclient.Config `envconfig:"REDIS"`
	Track TrackConfig        `envconfig:"TRACK"`
}

// TrackConfig holds FLINKFERRY_TRACK_* variables. The first five mirror
// StreamPark's streampark.flink-k8s.tracking settings.
type TrackConfig struct {
	JobStatusInterval     time.Duration `envconfig:"JOB_STATUS_INTERVAL" default:"5s" desc:"how often each job's state is polled (StreamPark polling-interval-sec.job-status)"`
	ClusterMetricInterval time.Duration `envconfig:"CLUSTER_METRIC_INTERVAL" default:"10s" desc:"how often cluster metrics and checkpoints are polled (StreamPark polling-interval-sec.cluster-metric)"`
	JobStatusTimeout      time.Duration `envconfig:"JOB_STATUS_TIMEOUT" default:"120s" desc:"longest a job may stay STARTING without its JobManager Deployment (StreamPark polling-task-timeout-sec.job-status)"`
	ClusterMetricTimeout  time.Duration `envconfig:"CLUSTER_METRIC_TIMEOUT" default:"120s" desc:"longest a cluster-metric poll of one JobManager may take in all (StreamPark polling-task-timeout-sec.cluster-metric)"`
	SilentStateKeep       time.Duration `envconfig:"SILENT_STATE_KEEP" default:"60s" desc:"how long a job stays SILENT (REST unreachable, JobManager present) before it is LOST (StreamPark silent-state-keep-sec)"`
	RequestTimeout        time.Duration `envconfig:"REQUEST_TIMEOUT" default:"3s" desc:"timeout of one Flink REST request, so one dead JobManager never delays the others"`
	Concurrency           int           `envconfig:"CONCURRENCY" default:"256" desc:"Flink REST requests in flight at once per replica"`

	Kubeconfig   string   `envconfig:"KUBECONFIG" desc:"kubeconfig of the default Kubernetes cluster (empty: in-cluster)"`
	ClustersFile string   `envconfig:"CLUSTERS_FILE" desc:"the submit worker's clusters file (several Kubernetes clusters); replaces KUBECONFIG and NAMESPACES"`
	Namespaces   []string `envconfig:"NAMESPACES" default:"*" desc:"namespaces watched on the default cluster (* watches all; a list keeps RBAC to those namespaces)"`
	RestAccess   string   `envconfig:"REST_ACCESS" default:"auto" desc:"how JobManagers are reached when a deployed event lacks an endpoint: auto or service-proxy"`
	KubeQPS      float32  `envconfig:"KUBE_QPS" default:"200" desc:"requests per second to each Kubernetes API server (tracking watches; removing a suspended or cancelled application cluster takes about 12 requests)"`
	KubeBurst    int      `envconfig:"KUBE_BURST" default:"400" desc:"request burst to each Kubernetes API server"`

	// Shards and RedisPrefix are the keyspace of the job store and of the
	// shard leases (storeOptions, leaseOptions). Their defaults are
	// jobstore.DefaultShards and jobstore.DefaultPrefix, written out
	// because a struct tag cannot name a constant (TestKeyspaceDefaults).
	Shards    int           `envconfig:"SHARDS" default:"128" desc:"number of shards jobs are split into across replicas (same value on every replica)"`
	LeaseTTL  time.Duration `envconfig:"LEASE_TTL" default:"15s" desc:"shard lease duration in Redis: a killed replica's jobs move to others within two of these"`
	ReplicaID string        `envconfig:"REPLICA_ID" desc:"this replica's name in Redis (default: host name and process id)"`

	RedisPrefix              string        `envconfig:"REDIS_PREFIX" default:"ff:" desc:"prefix of every Redis key (several installations can share one Redis)"`
	TerminalRetention        time.Duration `envconfig:"TERMINAL_RETENTION" default:"168h" desc:"how long terminal jobs stay in Redis"`
	FinishedClusterRetention time.Duration `envconfig:"FINISHED_CLUSTER_RETENTION" default:"1h" desc:"how long an application cluster is kept after its job reached a terminal state before the track worker deletes it (0 keeps it)"`
	RecoveryInterval         time.Duration `envconfig:"RECOVERY_INTERVAL" default:"5m" desc:"how often the tracked set is rebuilt from Kubernetes (JobManager Deployments flinkferry created)"`

	// Day-2 operations (docs/day2.md).
	OperationTimeout    time.Duration `envconfig:"OPERATION_TIMEOUT" default:"30m" desc:"longest a day-2 operation (savepoint, suspend, cancel, dispose) may take from its request until Flink finishes it; a request's timeout_seconds overrides it for savepoints"`
	SavepointsMaxCount  int           `envconfig:"SAVEPOINTS_MAX_COUNT" default:"10" desc:"savepoints kept in each job's history (the latest completed one is always kept)"`
	SavepointsMaxAge    time.Duration `envconfig:"SAVEPOINTS_MAX_AGE" default:"24h" desc:"age past which savepoints leave the history and are disposed through Flink while the job's cluster runs (the latest completed one is always kept)"`
	SavepointDirs       []string      `envconfig:"SAVEPOINT_DIRS" desc:"allow-list of URI prefixes that control requests may write savepoints to or restore from (e.g. s3://flink-state/); empty allows any"`
	SharedSavepointDirs []string      `envconfig:"SHARED_SAVEPOINT_DIRS" desc:"URI prefixes of savepoint directories every Kubernetes cluster reaches though their scheme is local (file://, local://, none: e.g. an NFS export mounted in all clusters); a move (upgrade.from) is refused savepoint_not_shared for a local directory outside them"`
	OperationInterval   time.Duration `envconfig:"OPERATION_INTERVAL" default:"1s" desc:"how often operations in flight are advanced (trigger, poll the savepoint, clean up)"`
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate(), c.Redis.Validate()}
	t := c.Track
	for name, d := range map[string]time.Duration{
		"JOB_STATUS_INTERVAL": t.JobStatusInterval, "CLUSTER_METRIC_INTERVAL": t.ClusterMetricInterval,
		"JOB_STATUS_TIMEOUT": t.JobStatusTimeout, "CLUSTER_METRIC_TIMEOUT": t.ClusterMetricTimeout,
		"SILENT_STATE_KEEP": t.SilentStateKeep, "REQUEST_TIMEOUT": t.RequestTimeout,
		"LEASE_TTL": t.LeaseTTL, "TERMINAL_RETENTION": t.TerminalRetention, "RECOVERY_INTERVAL": t.RecoveryInterval,
		"OPERATION_TIMEOUT": t.OperationTimeout, "SAVEPOINTS_MAX_AGE": t.SavepointsMaxAge, "OPERATION_INTERVAL": t.OperationInterval,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("track: %s must be > 0", name))
		}
	}
	if t.FinishedClusterRetention < 0 {
		errs = append(errs, errors.New("track: FINISHED_CLUSTER_RETENTION must be >= 0"))
	}
	if t.RequestTimeout > 0 && t.JobStatusInterval > 0 && t.RequestTimeout > t.JobStatusInterval {
		errs = append(errs, fmt.Errorf("track: REQUEST_TIMEOUT (%s) must not exceed JOB_STATUS_INTERVAL (%s)", t.RequestTimeout, t.JobStatusInterval))
	}
	if t.SavepointsMaxCount < 1 || t.SavepointsMaxCount > 1000 {
		errs = append(errs, errors.New("track: SAVEPOINTS_MAX_COUNT must be between 1 and 1000"))
	}
	if t.Concurrency < 1 {
		errs = append(errs, errors.New("track: CONCURRENCY must be >= 1"))
	}
	if t.Shards < 1 || t.Shards > 4096 {
		errs = append(errs, errors.New("track: SHARDS must be between 1 and 4096"))
	}
	if r := t.RestAccess; r != kubeclusters.RestAccessAuto && r != kubeclusters.RestAccessProxy {
		errs = append(errs, fmt.Errorf("track: REST_ACCESS %q is not auto or service-proxy", r))
	}
	if _, err := t.clusters(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// clusters returns the watched Kubernetes clusters.
func (t TrackConfig) clusters() ([]kubeclusters.Config, error) {
	if t.ClustersFile == "" {
		return kubeclusters.Single(t.Kubeconfig, t.RestAccess, t.Namespaces, []string{"*"}), nil
	}
	cfgs, err := kubeclusters.Load(t.ClustersFile)
	if err != nil {
		return cfgs, fmt.Errorf("track: CLUSTERS_FILE: %w", err)
	}
	return cfgs, nil
}

// replicaID returns ReplicaID or "<hostname>-<pid>".
func (t TrackConfig) replicaID() string {
	if t.ReplicaID != "" {
		return t.ReplicaID
	}
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid())
}

// storeOptions are the job store's options. The store and the shard leases
// (leaseOptions) take the key prefix and the shard count from the same
// fields: a job is filed under the shard whose lease decides who polls it.
func (t TrackConfig) storeOptions() jobstore.Options {
	return jobstore.Options{Prefix: t.RedisPrefix, Shards: t.Shards, TerminalRetention: t.TerminalRetention}
}

// leaseOptions are the shard leases' options, in the store's keyspace.
func (t TrackConfig) leaseOptions(log *slog.Logger) shard.Options {
	return shard.Options{Prefix: t.RedisPrefix, Shards: t.Shards, ReplicaID: t.replicaID(), LeaseTTL: t.LeaseTTL, Logger: log}
}
