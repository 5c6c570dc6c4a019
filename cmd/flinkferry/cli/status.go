package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// statusNow is the clock of `flinkferry status`; tests replace it.
var statusNow = time.Now

// statusWatchInterval is how often --watch refreshes.
const statusWatchInterval = 2 * time.Second

// JobStatus is one job as `flinkferry status -o json|yaml` prints it. The
// output is a JSON (or YAML) list of these objects; every field is always
// present, unknown times and ages are null.
type JobStatus struct {
	// KubeCluster is the Kubernetes cluster, "default" for the workers'
	// default one.
	KubeCluster string `json:"kube_cluster"`
	// Namespace and ClusterID name the Flink cluster (or session job).
	Namespace string `json:"namespace"`
	ClusterID string `json:"cluster_id"`
	// Key is the job key, "<kube-cluster>/<namespace>/<cluster-id>".
	Key string `json:"key"`
	// Mode is application, session-cluster or session.
	Mode string `json:"mode"`
	// State is the job state; Reason and Message those of the last
	// transition; StateSince when State was entered.
	State      string     `json:"state"`
	Reason     string     `json:"reason"`
	Message    string     `json:"message"`
	StateSince *time.Time `json:"state_since"`
	// DurationSeconds and Duration are the job's run time (see the help of
	// the command): whole seconds and human form (3m12s).
	DurationSeconds int64  `json:"duration_seconds"`
	Duration        string `json:"duration"`
	// StartTime and EndTime are Flink's.
	StartTime *time.Time `json:"start_time"`
	EndTime   *time.Time `json:"end_time"`
	// TaskManagers, SlotsUsed and SlotsTotal are the cluster's.
	TaskManagers int64 `json:"task_managers"`
	SlotsUsed    int64 `json:"slots_used"`
	SlotsTotal   int64 `json:"slots_total"`
	// LastCheckpointAt is when the last checkpoint completed and
	// LastCheckpointAgeSeconds its age; null when none completed.
	LastCheckpointAt         *time.Time `json:"last_checkpoint_at"`
	LastCheckpointAgeSeconds *int64     `json:"last_checkpoint_age_seconds"`
	// WebUIURL is the Flink web UI.
	WebUIURL string `json:"web_ui_url"`
	// RequestID, FlinkJobID and Image are those of the registered run.
	RequestID  string `json:"request_id"`
	FlinkJobID string `json:"flink_job_id"`
	Image      string `json:"image"`
	// LastPoll is the last successful poll of the JobManager; LastError the
	// error of the last failed one (empty after a success).
	LastPoll  *time.Time `json:"last_poll"`
	LastError string     `json:"last_error"`
	// Operation is the job's day-2 operation: the one in flight, or the
	// last one done; null when none was recorded.
	Operation *JobOperation `json:"operation"`
}

// JobOperation is a job's day-2 operation in JobStatus; every field is
// always present, empty when unknown.
type JobOperation struct {
	// Operation is cancel, suspend, resume, savepoint, delete or dispose.
	Operation string `json:"operation"`
	// RequestID is the control request's.
	RequestID string `json:"request_id"`
	// Phase is requested, triggered, cleanup or done; Result, once done,
	// completed or failed.
	Phase  string `json:"phase"`
	Result string `json:"result"`
	// RequestedAt is when the track worker recorded it.
	RequestedAt *time.Time `json:"requested_at"`
	// SavepointPath is the savepoint it took, once taken.
	SavepointPath string `json:"savepoint_path"`
	// Reason and Message say why a failed operation failed.
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// statusOptions are the flags of `flinkferry status`.
type statusOptions struct {
	kubeCluster string
	namespace   string
	state       string
	output      string
	watch       bool
	redis       redisFlags
}

// redisHelp is the paragraph of a command's help that says where its
// Redis settings come from.
const redisHelp = `Redis: --redis-url, else FLINKFERRY_REDIS_* variables, else the running
'flinkferry dev', else redis://127.0.0.1:6379/0; key prefix --redis-prefix,
else FLINKFERRY_TRACK_REDIS_PREFIX, else "ff:".`

// redisFlags are the flags of the commands that read the track worker's
// Redis (status and the day-2 commands).
type redisFlags struct {
	url    string
	prefix string
}

// register declares --redis-url and --redis-prefix on f.
func (r *redisFlags) register(f *pflag.FlagSet) {
	f.StringVar(&r.url, "redis-url", "", "Redis URL (default: FLINKFERRY_REDIS_URL, flinkferry dev, redis://127.0.0.1:6379/0)")
	f.StringVar(&r.prefix, "redis-prefix", "", "Redis key prefix (default: FLINKFERRY_TRACK_REDIS_PREFIX, ff:)")
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [cluster-id]",
		Short: "Show the tracked jobs from the track worker's Redis",
		Long: `Lists the jobs the track worker tracks, read from its Redis, optionally only
those of one cluster id, Kubernetes cluster, namespace or state.

Columns: CLUSTER (Kubernetes cluster, "default" for the workers' default one),
NAMESPACE, ID, MODE, STATE, DURATION, TM (TaskManagers), SLOTS (used/total),
CHECKPOINT (age of the last completed checkpoint, "-" when none), WEB UI.
A day-2 operation in flight is one line under the table: "operation on
<job key>: <operation> (<request id>) <phase>".

DURATION is Flink's run time when Flink reported a start time (start to end
for a finished job, start to now otherwise); before that (STARTING,
K8S_INITIALIZING, DEPLOY_FAILED, ...) it is the time spent in the current
state.

-o json and -o yaml print a list of objects with the snake_case fields
kube_cluster, namespace, cluster_id, key, mode, state, reason, message,
state_since, duration_seconds, duration, start_time, end_time, task_managers,
slots_used, slots_total, last_checkpoint_at, last_checkpoint_age_seconds,
web_ui_url, request_id, flink_job_id, image, last_poll, last_error (times RFC
3339, null when unknown) and operation (the operation in flight or the last
one done, null when none: operation, request_id, phase, result,
requested_at, savepoint_path, reason, message). --watch refreshes every 2s.

` + redisHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			return runStatus(cmd.Context(), cmd, o, id)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeCluster, "kube-cluster", "", "only jobs of this Kubernetes cluster (\"default\" for the workers' default one)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "only jobs of this namespace")
	f.StringVar(&o.state, "state", "", "only jobs in this state (e.g. RUNNING)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	f.BoolVarP(&o.watch, "watch", "w", false, "refresh every 2s until interrupted")
	o.redis.register(f)
	return cmd
}

func runStatus(ctx context.Context, cmd *cobra.Command, o statusOptions, clusterID string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.output {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("unknown output format %q (table, json or yaml)", o.output)
	}
	filter := jobstore.Filter{
		KubeCluster: o.kubeCluster,
		Namespace:   o.namespace,
		State:       messages.JobState(strings.ToUpper(o.state)),
		ClusterID:   clusterID,
	}
	// The workers' default cluster has an empty name, which List reads
	// as "any": such jobs are kept after listing.
	onlyDefault := filter.KubeCluster == "default"
	if onlyDefault {
		filter.KubeCluster = ""
	}
	store, closeStore, err := openJobStore(ctx, cmd, o.redis)
	if err != nil {
		return fmt.Errorf("reading job status: %w", err)
	}
	defer closeStore()
	out := cmd.OutOrStdout()
	if !o.watch {
		return printStatusOnce(ctx, out, store, filter, onlyDefault, o.output)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	clearScreen := isTerminal(out)
	for {
		if clearScreen {
			fmt.Fprint(out, "\033[H\033[2J")
		}
		if err := printStatusOnce(ctx, out, store, filter, onlyDefault, o.output); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !clearScreen {
			fmt.Fprintln(out)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(statusWatchInterval):
		}
	}
}

// quietRedisLogger drops go-redis's internal log lines.
type quietRedisLogger struct{}

// Printf discards the line.
func (quietRedisLogger) Printf(context.Context, string, ...any) {}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// openJobStore connects to the track worker's Redis (settings as
// statusRedisConfig resolves them) and returns its job store and the
// function that closes the connection.
func openJobStore(ctx context.Context, cmd *cobra.Command, o redisFlags) (*jobstore.Store, func(), error) {
	rcfg, prefix, err := statusRedisConfig(cmd, o)
	if err != nil {
		return nil, nil, err
	}
	redis.SetLogger(quietRedisLogger{}) // its dial retries would be printed to stderr
	rdb, err := redisclient.New(ctx, rcfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := jobstore.Open(ctx, rdb, jobstore.Options{Prefix: prefix})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return store, func() { rdb.Close() }, nil
}

// statusRedisConfig resolves the Redis settings: flag > FLINKFERRY_REDIS_*
// (and FLINKFERRY_TRACK_REDIS_PREFIX) > running flinkferry dev > default.
func statusRedisConfig(cmd *cobra.Command, o redisFlags) (redisclient.Config, string, error) {
	var cfg redisclient.Config
	if err := envconfig.Process("FLINKFERRY_REDIS", &cfg); err != nil {
		return cfg, "", fmt.Errorf("reading FLINKFERRY_REDIS_* variables: %w", err)
	}
	if _, set := os.LookupEnv("FLINKFERRY_REDIS_URL"); !set {
		if st, err := devstate.Read(); err == nil && st.RedisURL != "" {
			cfg.URL = st.RedisURL
		}
	}
	if cmd.Flags().Changed("redis-url") {
		cfg.URL = o.url
	}
	prefix := jobstore.DefaultPrefix
	if p, ok := os.LookupEnv("FLINKFERRY_TRACK_REDIS_PREFIX"); ok && p != "" {
		prefix = p
	}
	if cmd.Flags().Changed("redis-prefix") {
		prefix = o.prefix
	}
	if err := cfg.Validate(); err != nil {
		return cfg, "", err
	}
	return cfg, prefix, nil
}

// printStatusOnce lists the jobs and prints them in format.
// With onlyDefault, only jobs of the workers' default Kubernetes cluster
// are printed.
func printStatusOnce(ctx context.Context, w io.Writer, store *jobstore.Store, f jobstore.Filter, onlyDefault bool, format string) error {
	jobs, err := store.List(ctx, f)
	if err != nil {
		return fmt.Errorf("reading job status: %w", err)
	}
	if onlyDefault {
		jobs = slices.DeleteFunc(jobs, func(j *jobstore.Job) bool { return j.Job.KubeCluster != "" })
	}
	now := statusNow()
	rows := make([]JobStatus, len(jobs))
	for i, j := range jobs {
		rows[i] = NewJobStatus(j, now)
	}
	if done, err := printData(w, rows, format); done {
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no jobs tracked yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tNAMESPACE\tID\tMODE\tSTATE\tDURATION\tTM\tSLOTS\tCHECKPOINT\tWEB UI")
	for _, r := range rows {
		cp := "-"
		if r.LastCheckpointAgeSeconds != nil {
			cp = humanDuration(time.Duration(*r.LastCheckpointAgeSeconds) * time.Second)
		}
		web := r.WebUIURL
		if web == "" {
			web = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n",
			r.KubeCluster, r.Namespace, r.ClusterID, r.Mode, r.State, r.Duration,
			r.TaskManagers, r.SlotsUsed, r.SlotsTotal, cp, web)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if op := r.Operation; op != nil && op.Phase != string(ops.Done) {
			line := fmt.Sprintf("operation on %s: %s (%s) %s", r.Key, op.Operation, op.RequestID, op.Phase)
			if op.SavepointPath != "" {
				line += ", savepoint " + op.SavepointPath
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// NewJobStatus turns a stored job into its status row at now: the
// duration is Flink's (StartTime to EndTime, or to now while running)
// when Flink reported a start time, else the time since StateSince.
func NewJobStatus(j *jobstore.Job, now time.Time) JobStatus {
	s := JobStatus{
		KubeCluster: j.Job.KubeCluster, Namespace: j.Job.Namespace, ClusterID: j.Job.ClusterID,
		Key: j.Key, Mode: string(j.Mode), State: string(j.State), Reason: j.Reason, Message: j.Message,
		StateSince: timePtr(j.StateSince), StartTime: timePtr(j.StartTime), EndTime: timePtr(j.EndTime),
		TaskManagers: j.Metrics.TaskManagers, SlotsTotal: j.Metrics.SlotsTotal,
		SlotsUsed:        max(j.Metrics.SlotsTotal-j.Metrics.SlotsAvailable, 0),
		LastCheckpointAt: timePtr(j.Checkpoints.LastCompletedAt),
		WebUIURL:         j.WebUIURL, RequestID: j.RequestID, FlinkJobID: j.FlinkJobID, Image: j.Image,
		LastPoll: timePtr(j.LastPoll), LastError: j.LastError,
	}
	if s.KubeCluster == "" {
		s.KubeCluster = "default"
	}
	if op := j.Op; op != nil {
		s.Operation = &JobOperation{
			Operation: string(op.Operation), RequestID: op.RequestID, Phase: string(op.Phase), Result: string(op.Result),
			RequestedAt: timePtr(op.RequestedAt), SavepointPath: op.Location, Reason: op.Reason, Message: op.Message,
		}
	}
	var d time.Duration
	switch {
	case !j.StartTime.IsZero() && !j.EndTime.IsZero():
		d = j.EndTime.Sub(j.StartTime)
	case !j.StartTime.IsZero():
		d = now.Sub(j.StartTime)
	case !j.StateSince.IsZero():
		d = now.Sub(j.StateSince)
	}
	d = max(d, 0)
	s.DurationSeconds = int64(d / time.Second)
	s.Duration = humanDuration(d)
	if !j.Checkpoints.LastCompletedAt.IsZero() {
		age := int64(max(now.Sub(j.Checkpoints.LastCompletedAt), 0) / time.Second)
		s.LastCheckpointAgeSeconds = &age
	}
	return s
}

// timePtr returns nil for the zero time, else t in UTC.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// humanDuration prints d in at most two units, whole seconds: 45s, 3m12s,
// 2h5m, 3d4h.
func humanDuration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
	}
}
