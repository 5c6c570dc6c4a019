package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
)

// EventLine is one line of `flinkferry events -o json`.
type EventLine struct {
	// Type is the CloudEvents type (ce_type).
	Type string `json:"type"`
	// ID is the CloudEvents id (ce_id).
	ID string `json:"id"`
	// Time is the CloudEvents time, or the event's own time without one.
	Time time.Time `json:"time"`
	// Data is the decoded event, as on the wire.
	Data messages.Event `json:"data"`
}

// eventsOptions are the flags of `flinkferry events`.
type eventsOptions struct {
	output        string
	fromBeginning bool
	max           int
	kafka         kafkaFlags
}

func newEventsCmd() *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Follow the status topic: job state changes, builds and deployments",
		Long: `Follows the status topic (every partition, no consumer group, from its end
unless --from-beginning) and prints one line per event:

  2026-11-28T10:01:02Z  /flink-jobs/wordcount  STARTING → RUNNING  (reason)  http://...
  2026-11-28T10:00:41Z  /flink-jobs/wordcount  image built sha256:3b2c4d5e6f70 700.0 MiB 5.2s

-o json prints one object per line: {"type", "id", "time", "data": <the event>}.
A record that cannot be decoded prints a warning on stderr and is skipped.
--max N exits after N events.

` + kafkaHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvents(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json (one object per line)")
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "read the topic from its start instead of its end")
	f.IntVar(&o.max, "max", 0, "exit after this many events (0: follow until interrupted)")
	o.kafka.register(f)
	return cmd
}

func runEvents(ctx context.Context, cmd *cobra.Command, o eventsOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unknown output format %q (text or json)", o.output)
	}
	cfg, err := submitBusConfig(cmd, o.kafka)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	topic := cfg.Topics().Status
	cl, err := newEventsClient(ctx, cfg, topic, o.fromBeginning)
	if err != nil {
		return err
	}
	defer cl.Close()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	seen := 0
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("reading %s partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done {
				return
			}
			if err := printEvent(out, r, o.output); err != nil {
				fmt.Fprintf(errOut, "warning: %s partition %d offset %d: %v\n", r.Topic, r.Partition, r.Offset, err)
				return
			}
			seen++
			done = o.max > 0 && seen >= o.max
		})
		if done {
			return nil
		}
	}
}

// newEventsClient consumes every partition of topic directly (no group)
// from the end offsets listed now, or from the start.
func newEventsClient(ctx context.Context, cfg bus.Config, topic string, fromBeginning bool) (*kgo.Client, error) {
	if !fromBeginning {
		w, err := newStatusWatcher(ctx, cfg, topic)
		if err != nil {
			return nil, err
		}
		return w.cl, nil
	}
	opts, err := kgoSecurity(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.SeedBrokers(cfg.Brokers...), kgo.ClientID("flinkferry-cli"),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to Kafka: %w", err)
	}
	return cl, nil
}

// printEvent decodes r and prints it in format; an undecodable record is
// an error and prints nothing.
func printEvent(w io.Writer, r *kgo.Record, format string) error {
	h := make(map[string]string, len(r.Headers))
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	ev, env, err := messages.DecodeMessage(h, messages.TypeJobStatusChanged, r.Value)
	if err != nil {
		return fmt.Errorf("undecodable record: %w", err)
	}
	if format == "json" {
		line := EventLine{Type: env.Type, ID: env.ID, Time: env.Time, Data: ev}
		if line.Time.IsZero() {
			line.Time = eventTime(ev)
		}
		line.Time = line.Time.UTC()
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err = fmt.Fprintln(w, DescribeEvent(ev))
	return err
}

// eventTime is the Time field of the status events, else the zero time.
func eventTime(ev messages.Event) time.Time {
	switch e := ev.(type) {
	case *messages.JobStatusChanged:
		return e.Time
	case *messages.ImageBuilt:
		return e.Time
	case *messages.BuildFailed:
		return e.Time
	case *messages.Deployed:
		return e.Time
	case *messages.DeployFailed:
		return e.Time
	}
	return time.Time{}
}

// DescribeEvent is the human line of an event: its time (RFC 3339, UTC,
// seconds), its job key and what happened, two spaces apart.
func DescribeEvent(ev messages.Event) string {
	var what []string
	switch e := ev.(type) {
	case *messages.JobStatusChanged:
		from := string(e.From)
		if from == "" {
			from = "-"
		}
		what = append(what, from+" → "+string(e.To))
		if e.Reason != "" {
			what = append(what, "("+e.Reason+")")
		}
		if e.WebUIURL != "" {
			what = append(what, e.WebUIURL)
		}
	case *messages.ImageBuilt:
		ref := e.Image
		if ref == "" {
			ref = e.JarArtifact
		}
		if i := strings.Index(ref, "@sha256:"); i >= 0 {
			ref = ref[i+1:]
			if len(ref) > 7+12 {
				ref = ref[:7+12]
			}
		}
		s := fmt.Sprintf("image built %s %s %s", ref, formatBytes(e.SizeBytes), time.Duration(e.DurationMS)*time.Millisecond)
		if e.CacheHit {
			s += " (cached)"
		}
		what = append(what, s)
	case *messages.BuildFailed:
		what = append(what, fmt.Sprintf("build failed %s: %s", e.Reason, e.Message))
	case *messages.Deployed:
		s := fmt.Sprintf("deployed (%d objects)", len(e.ObjectUIDs))
		if e.WebUIURL != "" {
			s += "  " + e.WebUIURL
		}
		what = append(what, s)
	case *messages.DeployFailed:
		what = append(what, fmt.Sprintf("deploy failed %s: %s", e.Reason, e.Message))
	default:
		what = append(what, ev.EventType())
	}
	ts := "-"
	if t := eventTime(ev); !t.IsZero() {
		ts = t.UTC().Format(time.RFC3339)
	}
	return ts + "  " + ev.JobKey() + "  " + strings.Join(what, "  ")
}
