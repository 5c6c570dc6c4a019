package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// Savepoint is one entry of a job's savepoint history as `flinkferry
// savepoints -o json|yaml` prints it. The output is a list of these
// objects, newest first; every field is always present.
type Savepoint struct {
	// Time is when the savepoint completed or failed (RFC 3339, UTC).
	Time time.Time `json:"time"`
	// Trigger is what took it: manual, periodic, suspend or upgrade.
	Trigger string `json:"trigger"`
	// Result is completed or failed.
	Result string `json:"result"`
	// Format is CANONICAL or NATIVE; empty when unknown.
	Format string `json:"format"`
	// Path is where the savepoint is; empty for a failed one.
	Path string `json:"path"`
	// RequestID is the control request that took it; empty for a
	// periodic one.
	RequestID string `json:"request_id"`
}

// savepointsOptions are the flags of `flinkferry savepoints`.
type savepointsOptions struct {
	// job holds --namespace, --kube-cluster and the Redis flags, read by
	// resolveJob as for the day-2 commands.
	job    controlOptions
	output string
}

func newSavepointsCmd() *cobra.Command {
	var o savepointsOptions
	cmd := &cobra.Command{
		Use:   "savepoints <cluster-id>",
		Short: "List a job's savepoint history from the track worker's Redis",
		Long: `Lists the savepoints of a job, newest first, as the track worker keeps them
in its Redis (retention: the newest ones by count and age, never the last
completed one): TIME (when it completed or failed), TRIGGER (manual,
periodic, suspend, upgrade), RESULT (completed, failed), FORMAT (CANONICAL,
NATIVE, "-" when unknown), PATH ("-" for a failed one).

The job is found by its cluster id among the tracked jobs, as for the day-2
commands: a cluster id tracked in several namespaces or Kubernetes clusters
needs --namespace and/or --kube-cluster (--kube-cluster default is the
workers' default Kubernetes cluster). A job moved to another Kubernetes
cluster or namespace under the same cluster id is found where it runs now
(its history, carried along, starts with the move's savepoint); the record
it left behind is reached with --kube-cluster/--namespace. A job the track
worker no longer tracks has no history.

-o json and -o yaml print a list of objects with the fields time, trigger,
result, format, path, request_id (always present, empty when unknown).

` + redisHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSavepoints(cmd.Context(), cmd, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.job.namespace, "namespace", "n", "", "namespace of the job (default: found by cluster id)")
	f.StringVar(&o.job.kubeCluster, "kube-cluster", "", "Kubernetes cluster of the job, \"default\" for the workers' default one (default: found by cluster id)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	o.job.redis.register(f)
	return cmd
}

func runSavepoints(ctx context.Context, cmd *cobra.Command, o *savepointsOptions, clusterID string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.output {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("unknown output format %q (table, json or yaml)", o.output)
	}
	job := messages.JobRef{KubeCluster: kubeClusterName(o.job.kubeCluster), Namespace: o.job.namespace, ClusterID: clusterID}
	job, err := resolveJob(ctx, cmd, &o.job, job, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	store, closeStore, err := openJobStore(ctx, cmd, o.job.redis)
	if err != nil {
		return fmt.Errorf("reading the savepoints of %s: %w", job.Key(), err)
	}
	defer closeStore()
	entries, err := store.Savepoints(ctx, job.Key(), 0)
	if err != nil {
		return err
	}
	return printSavepoints(cmd.OutOrStdout(), job.Key(), entries, o.output)
}

// printSavepoints prints the history of job key in format.
func printSavepoints(w io.Writer, key string, entries []jobstore.SavepointEntry, format string) error {
	rows := make([]Savepoint, len(entries))
	for i, e := range entries {
		rows[i] = Savepoint{
			Time: e.Time.UTC(), Trigger: string(e.Trigger), Result: string(e.Result),
			Format: string(e.Format), Path: e.Path, RequestID: e.RequestID,
		}
	}
	if done, err := printData(w, rows, format); done {
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "no savepoints recorded for %s\n", key)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTRIGGER\tRESULT\tFORMAT\tPATH")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Time.Format(time.RFC3339), r.Trigger, r.Result, dash(r.Format), dash(r.Path))
	}
	return tw.Flush()
}

// dash returns s, or "-" when it is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
