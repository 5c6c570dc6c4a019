package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/flinkferry/flinkferry/internal/bus"
)

// Kinds of TopicProblem.
const (
	problemMissing         = "missing"
	problemPartitions      = "partitions"
	problemReplication     = "replication"
	problemMaxMessageBytes = "max_message_bytes"
)

// TopicsCheck is the report of `flinkferry topics check -o json|yaml`.
type TopicsCheck struct {
	// OK is true when no topic has a problem (exit status 0).
	OK bool `json:"ok"`
	// MinPartitions and MinReplication are the bounds checked.
	MinPartitions  int `json:"min_partitions"`
	MinReplication int `json:"min_replication"`
	// Topics are the six topics, in the order submit, control,
	// image-built, deployed, status, dead-letter.
	Topics []TopicCheck `json:"topics"`
}

// TopicCheck is one topic of a TopicsCheck.
type TopicCheck struct {
	// Topic is the topic's name.
	Topic string `json:"topic"`
	// Exists is false for a missing topic (then the counts are 0).
	Exists bool `json:"exists"`
	// Partitions and ReplicationFactor are the topic's (the smallest
	// replica count of its partitions).
	Partitions        int `json:"partitions"`
	ReplicationFactor int `json:"replication_factor"`
	// MaxMessageBytes is the dead-letter topic's effective
	// max.message.bytes; null for the other topics.
	MaxMessageBytes *int64 `json:"max_message_bytes"`
	// Problems lists what is wrong; empty when nothing is.
	Problems []TopicProblem `json:"problems"`
}

// TopicProblem is one problem of a topic.
type TopicProblem struct {
	// Kind is missing, partitions, replication or max_message_bytes.
	Kind string `json:"kind"`
	// Message says what is wrong, naming the topic.
	Message string `json:"message"`
}

// topicsCheckOptions are the flags of `flinkferry topics check`.
type topicsCheckOptions struct {
	replicas       int
	minPartitions  int
	minReplication int
	output         string
	kafka          kafkaFlags
}

func newTopicsCheckCmd() *cobra.Command {
	var o topicsCheckOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the topics the workers use exist and can serve them",
		Long: `Checks the topics the workers use and prints one line per topic, then one line
per problem. Problems:

  missing            the topic does not exist ('flinkferry topics create').
  partitions         a topic the workers consume (submit, control, image-built,
                     deployed) has fewer partitions than --min-partitions,
                     by default --replicas, the most replicas you run of one
                     worker: a consumer group cannot use more consumers than
                     partitions, the other replicas would stay idle.
  replication        a topic has fewer replicas than --min-replication.
  max_message_bytes  the dead-letter topic's max.message.bytes is below 1000000,
                     the largest record the workers dead-letter: such dead
                     letters would be refused and lost.

Exits 1 when there is any problem, 0 otherwise. -o json and -o yaml print
{"ok", "min_partitions", "min_replication", "topics": [{"topic", "exists",
"partitions", "replication_factor", "max_message_bytes" (dead-letter only,
else null), "problems": [{"kind", "message"}]}]}.

` + kafkaHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTopicsCheck(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.replicas, "replicas", 1, "the most replicas you run of one worker")
	f.IntVar(&o.minPartitions, "min-partitions", 0, "least partitions of a topic the workers consume (default: --replicas)")
	f.IntVar(&o.minReplication, "min-replication", 1, "least replication factor of every topic")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or yaml")
	o.kafka.register(f)
	return cmd
}

func runTopicsCheck(ctx context.Context, cmd *cobra.Command, o topicsCheckOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch o.output {
	case "text", "json", "yaml":
	default:
		return fmt.Errorf("unknown output format %q (text, json or yaml)", o.output)
	}
	minPartitions, fromReplicas := o.minPartitions, !cmd.Flags().Changed("min-partitions")
	if fromReplicas {
		minPartitions = o.replicas
	}
	if o.replicas < 1 || minPartitions < 1 || o.minReplication < 1 {
		return errors.New("--replicas, --min-partitions and --min-replication must be at least 1")
	}
	cfg, err := submitBusConfig(cmd, o.kafka)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, topicsTimeout)
	defer cancel()
	adm, err := newAdmin(cfg)
	if err != nil {
		return err
	}
	defer adm.Close()
	topics := cfg.Topics()
	states, err := describeTopics(ctx, adm, topics.All())
	if err != nil {
		return err
	}
	report := TopicsCheck{OK: true, MinPartitions: minPartitions, MinReplication: o.minReplication}
	grouped := groupTopics(topics)
	for _, name := range topics.All() {
		st := states[name]
		tc := TopicCheck{Topic: name, Exists: st.exists, Partitions: st.partitions, ReplicationFactor: st.replication, Problems: []TopicProblem{}}
		problem := func(kind, format string, args ...any) {
			tc.Problems = append(tc.Problems, TopicProblem{Kind: kind, Message: name + ": " + fmt.Sprintf(format, args...)})
		}
		switch {
		case !st.exists:
			problem(problemMissing, "does not exist (flinkferry topics create creates it)")
		case slices.Contains(grouped, name) && st.partitions < minPartitions && fromReplicas:
			problem(problemPartitions, "%d partitions for %d replicas (--replicas): a consumer group cannot use more consumers than partitions, %d replicas would stay idle",
				st.partitions, minPartitions, minPartitions-st.partitions)
		case slices.Contains(grouped, name) && st.partitions < minPartitions:
			problem(problemPartitions, "%d partitions, fewer than --min-partitions %d", st.partitions, minPartitions)
		}
		if st.exists && st.replication < o.minReplication {
			problem(problemReplication, "replication factor %d, below --min-replication %d", st.replication, o.minReplication)
		}
		if st.exists && name == topics.DeadLetter {
			n, err := maxMessageBytes(ctx, adm, name)
			if err != nil {
				return err
			}
			tc.MaxMessageBytes = &n
			if n < bus.DeadLetterMaxBytes {
				problem(problemMaxMessageBytes, "max.message.bytes %d is below %d, the largest record the workers dead-letter: larger dead letters would be refused and lost (set it to %d, as flinkferry topics create does)",
					n, bus.DeadLetterMaxBytes, bus.DeadLetterTopicMaxBytes)
			}
		}
		report.OK = report.OK && len(tc.Problems) == 0
		report.Topics = append(report.Topics, tc)
	}
	if err := printTopicsCheck(cmd.OutOrStdout(), report, o.output); err != nil {
		return err
	}
	if !report.OK {
		n := 0
		for _, t := range report.Topics {
			n += len(t.Problems)
		}
		return fmt.Errorf("topics check: %d problem(s)", n)
	}
	return nil
}

// maxMessageBytes reads the effective max.message.bytes of topic (its
// own, else the broker's).
func maxMessageBytes(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("reading the configs of %s: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return 0, fmt.Errorf("reading the configs of %s: %w", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == "max.message.bytes" {
			n, err := strconv.ParseInt(c.MaybeValue(), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: max.message.bytes %q is not a number", topic, c.MaybeValue())
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: the cluster did not report max.message.bytes", topic)
}

// printTopicsCheck prints r in format: text is one line per topic, then
// one line per problem.
func printTopicsCheck(w io.Writer, r TopicsCheck, format string) error {
	if done, err := printData(w, r, format); done {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Topics {
		verdict := "ok"
		if len(t.Problems) > 0 {
			verdict = "problem"
		}
		if !t.Exists {
			fmt.Fprintf(tw, "%s\t%s\tmissing\t\n", verdict, t.Topic)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d partitions\treplication %d\n", verdict, t.Topic, t.Partitions, t.ReplicationFactor)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Topics {
		for _, p := range t.Problems {
			if _, err := fmt.Fprintf(w, "problem: %s\n", p.Message); err != nil {
				return err
			}
		}
	}
	return nil
}
