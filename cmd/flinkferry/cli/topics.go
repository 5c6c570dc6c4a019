package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
)

// topicsTimeout bounds the Kafka requests of one `flinkferry topics`
// command.
const topicsTimeout = 30 * time.Second

func newTopicsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create or check the Kafka topics the workers use",
		Long: `Creates (create) or checks (check) the six topics the workers use: <prefix>submit,
control, image-built, deployed, status and dead-letter.

` + kafkaHelp + `
SASL and TLS: the FLINKFERRY_KAFKA_SASL_* and FLINKFERRY_KAFKA_TLS_* variables,
as for the workers.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newTopicsCreateCmd(), newTopicsCheckCmd())
	return cmd
}

// groupTopics are the topics the workers consume in a consumer group: a
// worker's replicas share their partitions, so each needs at least as
// many partitions as replicas (the track worker consumes Control).
// Status and DeadLetter are read by people and alerting, not by the
// workers.
func groupTopics(t messages.Topics) []string {
	return []string{t.Submit, t.Control, t.ImageBuilt, t.Deployed}
}

// newAdmin connects a Kafka admin client with the brokers, SASL and TLS
// of cfg. The caller closes the returned client.
func newAdmin(cfg bus.Config) (*kadm.Client, error) {
	opts, err := kgoSecurity(cfg)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(cfg.Brokers...), kgo.ClientID("flinkferry-cli"))...)
	if err != nil {
		return nil, fmt.Errorf("connecting to Kafka: %w", err)
	}
	return kadm.NewClient(cl), nil
}

// topicState is what the cluster says about one topic.
type topicState struct {
	// exists is false for a topic the cluster does not know.
	exists bool
	// partitions is the partition count; replication the smallest replica
	// count of a partition.
	partitions  int
	replication int
}

// describeTopics reads the partitions and replication of names. A topic
// that does not exist is in the result with exists false; any other
// error reading a topic fails the whole call.
func describeTopics(ctx context.Context, adm *kadm.Client, names []string) (map[string]topicState, error) {
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	states := make(map[string]topicState, len(names))
	for _, name := range names {
		d, ok := details[name]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			states[name] = topicState{}
			continue
		case d.Err != nil:
			return nil, fmt.Errorf("describing topic %s: %w", name, d.Err)
		}
		s := topicState{exists: true, partitions: len(d.Partitions)}
		for i, p := range d.Partitions.Sorted() {
			if i == 0 || len(p.Replicas) < s.replication {
				s.replication = len(p.Replicas)
			}
		}
		states[name] = s
	}
	return states, nil
}
