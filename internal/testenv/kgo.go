package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Client returns a franz-go client for the cluster: a second, non-watermill
// Kafka client, closed at cleanup.
func (k *KafkaCluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...), kgo.AllowAutoTopicCreation()}, k.ClientOpts...)
	c, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("creating kgo client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Produce writes one record with franz-go and waits for the acknowledgement.
func (k *KafkaCluster) Produce(t testing.TB, topic, key string, value []byte, headers map[string]string) {
	t.Helper()
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	if key == "" {
		r.Key = nil
	}
	for hk, hv := range headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: hk, Value: []byte(hv)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.Client(t).ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

// Consume reads topic from the beginning with franz-go until n records
// arrived or timeout passed, and returns what it read.
func (k *KafkaCluster) Consume(t testing.TB, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	c := k.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// Header returns the value of header key of r ("" when absent).
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
