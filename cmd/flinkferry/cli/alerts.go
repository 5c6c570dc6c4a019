package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/workers/alert"
)

// alertsOptions are the flags of `flinkferry alerts`.
type alertsOptions struct {
	redis  redisFlags
	firing bool
	limit  int
	output string
}

func newAlertsCmd() *cobra.Command {
	var o alertsOptions
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List recent alerts (firing, resolved) from the alert worker's Redis",
		Long: `Lists the notices the alert worker sent, newest first: TIME (the status
event's), STATUS (firing, resolved, or suppressed: fired within the job's
minimum interval and not sent), SEVERITY, RULE, JOB, STATE, REASON,
CHANNELS (those that received it; "!" marks one that did not, the event
was dead-lettered). --firing lists the alerts firing now instead.

-o json and -o yaml print the records (time, status, rule, severity,
fingerprint, job, from, to, reason, web_ui_url, channels, failed, event;
with --firing: the alerts' last notices).

Redis: --redis-url, else FLINKFERRY_REDIS_* variables, else the running
'flinkferry dev', else redis://127.0.0.1:6379/0; key prefix --redis-prefix,
else FLINKFERRY_ALERT_REDIS_PREFIX, else ff:alert:.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAlerts(cmd.Context(), cmd, &o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.firing, "firing", false, "list the alerts firing now")
	f.IntVar(&o.limit, "limit", 50, "notices listed (0: all kept)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	f.StringVar(&o.redis.url, "redis-url", "", "Redis URL (default: FLINKFERRY_REDIS_URL, flinkferry dev, redis://127.0.0.1:6379/0)")
	f.StringVar(&o.redis.prefix, "redis-prefix", "", "alert key prefix (default: FLINKFERRY_ALERT_REDIS_PREFIX, "+alert.DefaultPrefix+")")
	return cmd
}

func runAlerts(ctx context.Context, cmd *cobra.Command, o *alertsOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.output {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("unknown output format %q (table, json or yaml)", o.output)
	}
	if o.limit < 0 {
		return fmt.Errorf("--limit must be >= 0, got %d", o.limit)
	}
	rcfg, _, err := statusRedisConfig(cmd, o.redis)
	if err != nil {
		return err
	}
	prefix := alert.DefaultPrefix
	if p, ok := os.LookupEnv("FLINKFERRY_ALERT_REDIS_PREFIX"); ok && p != "" {
		prefix = p
	}
	if cmd.Flags().Changed("redis-prefix") {
		prefix = o.redis.prefix
	}
	redis.SetLogger(quietRedisLogger{})
	rdb, err := redisclient.New(ctx, rcfg)
	if err != nil {
		return fmt.Errorf("reading alerts: %w", err)
	}
	defer rdb.Close()
	store := alert.NewStore(rdb, alert.StoreOptions{Prefix: prefix})
	w := cmd.OutOrStdout()
	if o.firing {
		ns, err := store.Firing(ctx)
		if err != nil {
			return fmt.Errorf("reading firing alerts: %w", err)
		}
		return printFiring(w, ns, o.output)
	}
	recs, err := store.Recent(ctx, o.limit)
	if err != nil {
		return fmt.Errorf("reading alerts: %w", err)
	}
	return printAlerts(w, recs, o.output)
}

// printAlerts prints the history records in format.
func printAlerts(w io.Writer, recs []alert.Record, format string) error {
	if recs == nil {
		recs = []alert.Record{}
	}
	if done, err := printData(w, recs, format); done {
		return err
	}
	if len(recs) == 0 {
		_, err := fmt.Fprintln(w, "no alerts recorded")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTATUS\tSEVERITY\tRULE\tJOB\tSTATE\tREASON\tCHANNELS")
	for _, r := range recs {
		chans := append([]string(nil), r.Channels...)
		for _, c := range slices.Sorted(maps.Keys(r.Failed)) {
			chans = append(chans, "!"+c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.UTC().Format(time.RFC3339), r.Status, r.Severity, r.Rule,
			r.Job, r.To, dash(r.Reason), dash(strings.Join(chans, ",")))
	}
	return tw.Flush()
}

// printFiring prints the alerts firing now in format.
func printFiring(w io.Writer, ns []alert.Notice, format string) error {
	if ns == nil {
		ns = []alert.Notice{}
	}
	if done, err := printData(w, ns, format); done {
		return err
	}
	if len(ns) == 0 {
		_, err := fmt.Fprintln(w, "no alerts firing")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINCE\tSEVERITY\tRULE\tJOB\tSTATE\tREASON\tWEB UI")
	for _, n := range ns {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.StartsAt.UTC().Format(time.RFC3339), n.Severity, n.Rule, n.Key,
			n.To, dash(n.Reason), dash(n.WebUIURL))
	}
	return tw.Flush()
}
