package bus

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"

	"github.com/flinkferry/flinkferry/messages"
)

// DeadLetterTopicMaxBytes is the max.message.bytes flinkferry sets on the
// dead-letter topic it creates: Kafka's own default (1,048,588), written on
// the topic so that a broker whose message.max.bytes was lowered still
// takes every dead-letter record (at most DeadLetterMaxBytes).
const DeadLetterTopicMaxBytes = 1_048_588

// TopicOptions say how the flinkferry topics are created.
type TopicOptions struct {
	// Partitions of every topic; -1 for the broker default.
	Partitions int32
	// ReplicationFactor of every topic; -1 for the broker default.
	ReplicationFactor int16
	// StatusRetention and DeadLetterRetention set retention.ms on the
	// status and dead-letter topics: 0 leaves the broker default, a
	// negative value keeps records forever (-1). The other topics always
	// have the broker default.
	StatusRetention     time.Duration
	DeadLetterRetention time.Duration
}

// TopicSpec is one topic as flinkferry creates it.
type TopicSpec struct {
	// Name is the topic.
	Name string
	// Partitions and ReplicationFactor are as in TopicOptions (-1: broker
	// default).
	Partitions        int32
	ReplicationFactor int16
	// Configs are the topic configs set at creation; a config not listed
	// has the broker default.
	Configs map[string]string
}

// ConfigEntries returns Configs in the form Kafka clients take.
func (s TopicSpec) ConfigEntries() map[string]*string {
	if len(s.Configs) == 0 {
		return nil
	}
	m := make(map[string]*string, len(s.Configs))
	for k, v := range s.Configs {
		m[k] = &v
	}
	return m
}

// TopicSpecs returns every topic of t (in the order of t.All()) as it is
// created: the dead-letter topic with max.message.bytes
// DeadLetterTopicMaxBytes, and the retentions of o.
func TopicSpecs(t messages.Topics, o TopicOptions) []TopicSpec {
	specs := make([]TopicSpec, 0, 6)
	for _, name := range t.All() {
		s := TopicSpec{Name: name, Partitions: o.Partitions, ReplicationFactor: o.ReplicationFactor, Configs: map[string]string{}}
		switch name {
		case t.Status:
			setRetention(s.Configs, o.StatusRetention)
		case t.DeadLetter:
			setRetention(s.Configs, o.DeadLetterRetention)
			s.Configs["max.message.bytes"] = strconv.Itoa(DeadLetterTopicMaxBytes)
		}
		specs = append(specs, s)
	}
	return specs
}

func setRetention(configs map[string]string, d time.Duration) {
	switch {
	case d < 0:
		configs["retention.ms"] = "-1"
	case d > 0:
		configs["retention.ms"] = strconv.FormatInt(d.Milliseconds(), 10)
	}
}

// EnsureTopics creates the flinkferry topics (TopicSpecs) that do not exist
// yet, with the configured partitions, a replication factor capped at the
// number of brokers and the broker's default retention. Existing topics are
// left as they are.
func EnsureTopics(cfg Config) error {
	sc, err := cfg.Sarama("flinkferry-admin")
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("connecting admin client: %w", err)
	}
	defer admin.Close()
	brokers, _, err := admin.DescribeCluster()
	if err != nil {
		return fmt.Errorf("describing cluster: %w", err)
	}
	rf := min(cfg.ReplicationFactor, int16(len(brokers)))
	for _, s := range TopicSpecs(cfg.Topics(), TopicOptions{Partitions: cfg.Partitions, ReplicationFactor: rf}) {
		detail := &sarama.TopicDetail{NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor, ConfigEntries: s.ConfigEntries()}
		err := admin.CreateTopic(s.Name, detail, false)
		var te *sarama.TopicError
		if errors.As(err, &te) && te.Err == sarama.ErrTopicAlreadyExists {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating topic %s: %w", s.Name, err)
		}
	}
	return nil
}
