package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/flinkferry/flinkferry/internal/bus"
)

// topicsCreateOptions are the flags of `flinkferry topics create`.
type topicsCreateOptions struct {
	partitions          int32
	replicationFactor   int16
	statusRetention     string
	deadLetterRetention string
	kafka               kafkaFlags
}

func newTopicsCreateCmd() *cobra.Command {
	var o topicsCreateOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create the topics the workers use; existing topics are left alone",
		Long: `Creates every topic the workers use that does not exist yet, and prints one
line per topic: created or exists, its partitions and replication factor. An
existing topic is never changed, so a second run changes nothing.

Every topic gets --partitions and --replication-factor (-1: the broker's
default). The status and dead-letter topics keep their records for
--status-retention and --dead-letter-retention (e.g. 7d, 36h; 0: the broker's
default, -1: forever); the other topics have the broker's retention. The
dead-letter topic gets max.message.bytes 1048588, above the largest record
the workers dead-letter (1000000 bytes), so dead letters always fit.

--partitions and --replication-factor default to FLINKFERRY_KAFKA_PARTITIONS
and FLINKFERRY_KAFKA_REPLICATION_FACTOR, the workers' settings for
FLINKFERRY_KAFKA_CREATE_TOPICS. Unlike the workers, the command does not cap
the replication factor at the broker count: a cluster with fewer brokers
refuses the topic.

` + kafkaHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTopicsCreate(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.Int32Var(&o.partitions, "partitions", 0, "partitions of every topic, -1 for the broker default (default: FLINKFERRY_KAFKA_PARTITIONS, 12)")
	f.Int16Var(&o.replicationFactor, "replication-factor", 0, "replicas of every partition, -1 for the broker default (default: FLINKFERRY_KAFKA_REPLICATION_FACTOR, 3)")
	f.StringVar(&o.statusRetention, "status-retention", "7d", "retention of the status topic (0: broker default, -1: forever)")
	f.StringVar(&o.deadLetterRetention, "dead-letter-retention", "30d", "retention of the dead-letter topic (0: broker default, -1: forever)")
	o.kafka.register(f)
	return cmd
}

// topicsCreatePlan resolves the flags and variables into the options of
// the topics to create.
func topicsCreatePlan(cmd *cobra.Command, o topicsCreateOptions, cfg bus.Config) (bus.TopicOptions, error) {
	to := bus.TopicOptions{Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor}
	if cmd.Flags().Changed("partitions") {
		to.Partitions = o.partitions
	}
	if cmd.Flags().Changed("replication-factor") {
		to.ReplicationFactor = o.replicationFactor
	}
	var errs []error
	if to.Partitions < 1 && to.Partitions != -1 {
		errs = append(errs, fmt.Errorf("--partitions %d: want at least 1, or -1 for the broker default", to.Partitions))
	}
	if to.ReplicationFactor < 1 && to.ReplicationFactor != -1 {
		errs = append(errs, fmt.Errorf("--replication-factor %d: want at least 1, or -1 for the broker default", to.ReplicationFactor))
	}
	var err error
	if to.StatusRetention, err = parseRetention(o.statusRetention); err != nil {
		errs = append(errs, fmt.Errorf("--status-retention: %w", err))
	}
	if to.DeadLetterRetention, err = parseRetention(o.deadLetterRetention); err != nil {
		errs = append(errs, fmt.Errorf("--dead-letter-retention: %w", err))
	}
	return to, errors.Join(errs...)
}

// parseRetention reads a retention: a Go duration (36h, 90m), a number of
// days (7d), 0 for the broker default or -1 for forever (returned as -1ns).
func parseRetention(s string) (time.Duration, error) {
	switch s = strings.TrimSpace(s); s {
	case "0":
		return 0, nil
	case "-1":
		return -1, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number of days", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (7d, 36h), 0 or -1", s)
		}
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("%q: want at least 1ms, 0 (broker default) or -1 (forever)", s)
	}
	return d, nil
}

func runTopicsCreate(ctx context.Context, cmd *cobra.Command, o topicsCreateOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := submitBusConfig(cmd, o.kafka)
	if err != nil {
		return err
	}
	to, err := topicsCreatePlan(cmd, o, cfg)
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
	specs := bus.TopicSpecs(cfg.Topics(), to)
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	states, err := describeTopics(ctx, adm, names)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	failed := 0
	for _, s := range specs {
		st := states[s.Name]
		verb := "exists"
		if !st.exists {
			verb = "created"
			st, err = createTopic(ctx, adm, s)
			if errors.Is(err, kerr.TopicAlreadyExists) { // created since the listing
				verb = "exists"
				st, err = describeOne(ctx, adm, s.Name)
			}
			if err != nil {
				fmt.Fprintf(tw, "failed\t%s\t%v\n", s.Name, err)
				failed++
				continue
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d partitions\treplication %d\n", verb, s.Name, st.partitions, st.replication)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("topics create: %d of %d topics not created", failed, len(specs))
	}
	return nil
}

// createTopic creates the topic of s and returns its partitions and
// replication factor as Kafka reports them, or the error (which does not
// name the topic) (those asked when Kafka is
// older than 2.4 and does not say).
func createTopic(ctx context.Context, adm *kadm.Client, s bus.TopicSpec) (topicState, error) {
	r, err := adm.CreateTopic(ctx, s.Partitions, s.ReplicationFactor, s.ConfigEntries(), s.Name)
	if err != nil {
		if r.ErrMessage != "" {
			err = fmt.Errorf("%w: %s", err, r.ErrMessage)
		}
		if errors.Is(err, kerr.InvalidReplicationFactor) {
			err = fmt.Errorf("%w (--replication-factor: at most the broker count, or -1 for the broker default)", err)
		}
		return topicState{}, err
	}
	st := topicState{exists: true, partitions: int(r.NumPartitions), replication: int(r.ReplicationFactor)}
	if st.partitions <= 0 {
		st.partitions = int(s.Partitions)
	}
	if st.replication <= 0 {
		st.replication = int(s.ReplicationFactor)
	}
	return st, nil
}

// describeOne describes one topic (see describeTopics).
func describeOne(ctx context.Context, adm *kadm.Client, name string) (topicState, error) {
	states, err := describeTopics(ctx, adm, []string{name})
	return states[name], err
}
