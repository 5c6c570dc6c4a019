package bus

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// EnsureTopics creates the flinkferry topics that do not exist yet, with the
// configured partitions and a replication factor capped at the number of
// brokers. Existing topics are left as they are.
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
	t := cfg.Topics()
	for _, name := range []string{t.Submit, t.ImageBuilt, t.Deployed, t.Status, t.DeadLetter} {
		err := admin.CreateTopic(name, &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: rf}, false)
		var te *sarama.TopicError
		if errors.As(err, &te) && te.Err == sarama.ErrTopicAlreadyExists {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating topic %s: %w", name, err)
		}
	}
	return nil
}
