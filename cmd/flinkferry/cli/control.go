package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// controlHelp ends the help of every day-2 command.
const controlHelp = `The job is found by its cluster id among the jobs the track worker tracks
(its Redis, as 'flinkferry status' reads it). A cluster id tracked in several
namespaces or Kubernetes clusters needs --namespace and/or --kube-cluster;
with both, Redis is not read. --kube-cluster default is the workers' default
Kubernetes cluster.

The request (a ControlRequested on the control topic, keyed by the job key)
is validated first: an invalid one prints every problem and produces
nothing. --request-id is its idempotency key (default: generated, printed).

The track worker consumes the control topic: it records the operation,
lets Flink do it (a savepoint is never waited for in a handler) and
publishes one status event per step of the request; a request it cannot
accept (job_not_found, operation_in_progress, request_id_conflict,
operation_not_allowed) is refused with an io.flinkferry.control.refused.v1
event on the status topic and dead-lettered. Sending the same request
again (same --request-id) triggers nothing twice (docs/day2.md).

--wait follows the job on the status topic until the request's own
outcome: exit 0 when its step completes it (resume: once the new run is
RUNNING), 1 on a failed step, a refusal, the job ending before a cancel,
suspend or savepoint completes, or after --timeout. It requires a track
worker with day-2 operations (issue 14, docs/day2.md): an older one leaves
the request on the control topic and --wait times out.

` + kafkaHelp + "\n\n" + redisHelp

// controlOptions are the flags of the day-2 commands; each command
// declares the ones it takes, the others stay zero.
type controlOptions struct {
	kubeCluster string
	namespace   string
	requestID   string
	// dir, format, drain and timeoutSeconds are suspend's and savepoint's.
	dir            string
	format         string
	drain          bool
	timeoutSeconds int
	// from is resume's and restart's; fromSet says it was given (an empty
	// value is an empty path).
	from    string
	fromSet bool
	// allowNonRestored and restoreMode are restart's.
	allowNonRestored bool
	restoreMode      string
	// force is delete's.
	force   bool
	wait    bool
	timeout time.Duration
	kafka   kafkaFlags
	redis   redisFlags
}

// controlCommand describes one day-2 command.
type controlCommand struct {
	op               messages.Operation
	use, short, long string
	args             cobra.PositionalArgs
	// flags declares the operation's own flags.
	flags func(*pflag.FlagSet, *controlOptions)
	// waitTimeout is the default of --timeout.
	waitTimeout time.Duration
}

// newControlCmd builds a day-2 command: the flags every one has, then c's.
func newControlCmd(c controlCommand) *cobra.Command {
	var o controlOptions
	cmd := &cobra.Command{
		Use:   c.use,
		Short: c.short,
		Long:  c.long + "\n\n" + controlHelp,
		Args:  c.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.fromSet = cmd.Flags().Changed("from")
			return runControl(cmd.Context(), cmd, c.op, &o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the job (default: found by cluster id)")
	f.StringVar(&o.kubeCluster, "kube-cluster", "", "Kubernetes cluster of the job, \"default\" for the workers' default one (default: found by cluster id)")
	f.StringVar(&o.requestID, "request-id", "", "request id, the idempotency key (default: generated)")
	if c.flags != nil {
		c.flags(f, &o)
	}
	f.BoolVar(&o.wait, "wait", false, "follow the job on the status topic until the request's outcome")
	f.DurationVar(&o.timeout, "timeout", c.waitTimeout, "how long --wait waits")
	o.kafka.register(f)
	o.redis.register(f)
	return cmd
}

// savepointFlags declares the savepoint flags of suspend and savepoint.
// --drain is declared on both so that the request, not the flag parser,
// refuses it with savepoint: every problem then reads the same way.
func savepointFlags(f *pflag.FlagSet, o *controlOptions) {
	f.StringVar(&o.dir, "dir", "", "savepoint directory, a URI (default: the job's state.savepoints.dir)")
	f.StringVar(&o.format, "format", "", "savepoint format: canonical (the default) or native")
	f.BoolVar(&o.drain, "drain", false, "emit MAX_WATERMARK before the job stops: timers fire, windows close (suspend only)")
	f.IntVar(&o.timeoutSeconds, "timeout-seconds", 0, "bound of the savepoint, trigger to completion (default: the track worker's, 30 minutes)")
}

// controlRequest builds the request that op, the arguments (the cluster
// id, and for dispose the savepoint path) and the flags describe, without
// validating it. generated says the request id was generated.
func controlRequest(op messages.Operation, o *controlOptions, args []string, now time.Time) (req *messages.ControlRequested, generated bool) {
	req = &messages.ControlRequested{
		RequestID: o.requestID,
		Job:       messages.JobRef{KubeCluster: kubeClusterName(o.kubeCluster), Namespace: o.namespace, ClusterID: args[0]},
		Operation: op,
		Force:     o.force,
		// Checked by Validate: only with suspend and savepoint.
		TimeoutSeconds: o.timeoutSeconds,
	}
	if req.RequestID == "" {
		req.RequestID, generated = NewRequestID(now), true
	}
	if o.dir != "" || o.format != "" || o.drain {
		req.Savepoint = &messages.SavepointOptions{
			Directory: o.dir, Format: messages.SavepointFormat(strings.ToUpper(o.format)), Drain: o.drain,
		}
	}
	if o.fromSet {
		switch from := messages.RestoreFrom(o.from); from {
		case messages.RestoreFromSavepoint, messages.RestoreFromCheckpoint, messages.RestoreFromNone:
			req.Restore = &messages.RestoreOptions{From: from}
		default: // anything else is a path, an empty one too (Validate refuses it)
			req.Restore = &messages.RestoreOptions{From: messages.RestoreFromPath, Path: o.from}
		}
	}
	if o.allowNonRestored || o.restoreMode != "" {
		if req.Restore == nil {
			req.Restore = &messages.RestoreOptions{}
		}
		req.Restore.AllowNonRestoredState = o.allowNonRestored
		req.Restore.RestoreMode = messages.RestoreMode(strings.ToUpper(o.restoreMode))
	}
	if len(args) > 1 {
		req.SavepointPath = args[1]
	}
	return req, generated
}

// kubeClusterName turns --kube-cluster into JobRef.KubeCluster: "default",
// as in `flinkferry status`, is the workers' default cluster, "".
func kubeClusterName(flag string) string {
	if flag == "default" {
		return ""
	}
	return flag
}

// controlProblems validates req. With lookup the namespace is still to be
// found by cluster id, so that it is missing is not a problem yet.
func controlProblems(req *messages.ControlRequested, lookup bool) error {
	err := req.Validate()
	var fe messages.FieldErrors
	if err == nil || !errors.As(err, &fe) || !lookup {
		return err
	}
	fe = slices.DeleteFunc(slices.Clone(fe), func(p messages.FieldError) bool { return p.Field == "job.namespace" })
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// invalidControl prints the problems of the request of command line label
// and returns them as an *InvalidRequestError.
func invalidControl(w io.Writer, label string, err error) error {
	ire := &InvalidRequestError{Kind: "control request", File: label, Err: err}
	errors.As(err, &ire.Problems)
	printProblems(w, ire)
	return ire
}

// resolveJob completes job from the jobs the track worker tracks when
// --namespace or --kube-cluster was not given: the one tracked job with
// job's cluster id (and namespace or Kubernetes cluster, when given).
// Several are an error naming them. With --namespace, an untracked job or
// an unreadable Redis is only a warning on warn (the request may be about
// a job the track worker forgot, a savepoint to dispose after delete);
// the workers' default Kubernetes cluster is then assumed.
func resolveJob(ctx context.Context, cmd *cobra.Command, o *controlOptions, job messages.JobRef, warn io.Writer) (messages.JobRef, error) {
	if o.namespace != "" && o.kubeCluster != "" {
		return job, nil
	}
	jobs, err := trackedJobs(ctx, cmd, o.redis, jobstore.Filter{KubeCluster: job.KubeCluster, Namespace: job.Namespace, ClusterID: job.ClusterID})
	if o.kubeCluster != "" {
		// An empty KubeCluster filters nothing: keep the default cluster's only.
		jobs = slices.DeleteFunc(jobs, func(j *jobstore.Job) bool { return j.Job.KubeCluster != job.KubeCluster })
	}
	jobs = withoutMovedAway(jobs, warn)
	switch {
	case err != nil && o.namespace != "":
		fmt.Fprintf(warn, "warning: cannot read the tracked jobs (%v); acting on %s (--kube-cluster names another Kubernetes cluster)\n", err, job.Key())
		return job, nil
	case err != nil:
		return job, fmt.Errorf("finding cluster id %s among the tracked jobs: %w (--namespace, and --kube-cluster unless the job runs in the workers' default one, name the job without Redis)", job.ClusterID, err)
	case len(jobs) == 1:
		return jobs[0].Job, nil
	case len(jobs) > 1:
		keys := make([]string, len(jobs))
		for i, j := range jobs {
			keys[i] = j.Key
		}
		return job, fmt.Errorf("cluster id %s is ambiguous, %d tracked jobs have it (%s): choose one with --namespace and --kube-cluster", job.ClusterID, len(jobs), strings.Join(keys, ", "))
	case o.namespace != "":
		fmt.Fprintf(warn, "warning: the track worker does not track %s\n", job.Key())
		return job, nil
	}
	where := ""
	if o.kubeCluster != "" {
		where = " in Kubernetes cluster " + o.kubeCluster
	}
	return job, fmt.Errorf("no tracked job has cluster id %s%s (--namespace names a job that is not tracked)", job.ClusterID, where)
}

// trackedJobs lists the tracked jobs matching f.
func trackedJobs(ctx context.Context, cmd *cobra.Command, r redisFlags, f jobstore.Filter) ([]*jobstore.Job, error) {
	store, closeStore, err := openJobStore(ctx, cmd, r)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	return store.List(ctx, f)
}

// runControl builds, checks and sends the request of a day-2 command and,
// with --wait, follows the job to the operation's outcome.
func runControl(ctx context.Context, cmd *cobra.Command, op messages.Operation, o *controlOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	label := cmd.Name() + " " + strings.Join(args, " ")
	req, generated := controlRequest(op, o, args, time.Now())
	if err := controlProblems(req, o.namespace == ""); err != nil {
		return invalidControl(errOut, label, err)
	}
	job, err := resolveJob(ctx, cmd, o, req.Job, errOut)
	if err != nil {
		return err
	}
	req.Job = job
	if err := req.Validate(); err != nil {
		return invalidControl(errOut, label, err)
	}
	if generated {
		fmt.Fprintf(out, "request_id %s (generated)\n", req.RequestID)
	}
	cfg, err := submitBusConfig(cmd, o.kafka)
	if err != nil {
		return err
	}
	topic := cfg.Topics().Control
	w, err := sendWatched(ctx, cfg, req, topic, o.wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sent %s: %s %s to %s\n", req.RequestID, req.Operation, req.JobKey(), topic)
	if w == nil {
		return nil
	}
	defer w.close()
	return w.followControl(ctx, req, o.timeout, newProgress(out))
}
