package testenv

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
)

// Partitions is the partition count of every topic in a test cluster.
const Partitions = 6

// KafkaCluster is an in-process Kafka-protocol cluster of three brokers that
// speaks the real wire protocol on loopback ports.
type KafkaCluster struct {
	*kfake.Cluster
	Brokers []string
	// ClientOpts are added to every client Client makes (SASL for a
	// cluster started with kfake.EnableSASL).
	ClientOpts []kgo.Opt
}

// Kafka starts a three-broker kfake cluster for the test, with automatic
// topic creation and Partitions partitions per topic. It stops at cleanup.
func Kafka(t testing.TB, opts ...kfake.Opt) *KafkaCluster {
	t.Helper()
	opts = append([]kfake.Opt{
		kfake.NumBrokers(3),
		kfake.DefaultNumPartitions(Partitions),
		kfake.AllowAutoTopicCreation(),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("starting kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return &KafkaCluster{Cluster: c, Brokers: c.ListenAddrs()}
}

// BusConfig returns a bus configuration for this cluster with test-friendly
// group timings (300 ms heartbeats, 6 s sessions) and topics created at start.
func (k *KafkaCluster) BusConfig() bus.Config {
	return bus.Config{
		Brokers:           k.Brokers,
		TopicPrefix:       "flinkferry.",
		CreateTopics:      true,
		Partitions:        Partitions,
		ReplicationFactor: 3,
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: 300 * time.Millisecond,
		RebalanceTimeout:  10 * time.Second,
	}
}
