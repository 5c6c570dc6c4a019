package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// batchOf is n status events of jobs job-0…job-(jobs-1) in turn; event i
// has id ev-i and message "i", so a reader can check the order per job.
func batchOf(n, jobs int) []bus.Identified {
	evs := make([]bus.Identified, n)
	for i := range evs {
		evs[i] = bus.Identified{ID: fmt.Sprintf("ev-%d", i), Event: &messages.JobStatusChanged{
			RequestID: "r", Job: messages.JobRef{Namespace: "ns", ClusterID: fmt.Sprintf("job-%d", i%jobs)},
			Mode: messages.ModeApplication, From: messages.StateRunning, To: messages.StateRestarting,
			FlinkJobID: "0123456789abcdef0123456789abcdef", Reason: "restarting", Message: strconv.Itoa(i), Time: time.Unix(1_700_000_000, 0).UTC(),
		}}
	}
	return evs
}

// readStatus reads records of topic until done says so and returns, per
// record key, the event numbers (messages) in the order Kafka holds them,
// and how often each ce_id came.
func readStatus(t *testing.T, k *testenv.KafkaCluster, topic string, done func(ids map[string]int) bool) (map[string][]int, map[string]int) {
	t.Helper()
	c := k.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	order, ids := map[string][]int{}, map[string]int{}
	for !done(ids) {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("after %d records: %v", len(ids), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			ev, _, err := messages.DecodeMessage(headersOf(r), "", r.Value)
			if err != nil {
				t.Errorf("record at %d/%d: %v", r.Partition, r.Offset, err)
				return
			}
			sc := ev.(*messages.JobStatusChanged)
			i, _ := strconv.Atoi(sc.Message)
			order[string(r.Key)] = append(order[string(r.Key)], i)
			for _, h := range r.Headers {
				if h.Key == bus.HeaderID {
					ids[string(h.Value)]++
				}
			}
		})
	}
	return order, ids
}

func headersOf(r *kgo.Record) map[string]string {
	h := make(map[string]string, len(r.Headers))
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

// newProducer is a producer on a fresh three-broker kfake cluster, the
// cluster, and the status topic.
func newProducer(tb testing.TB) (*bus.Producer, *testenv.KafkaCluster, string) {
	tb.Helper()
	k := testenv.Kafka(tb)
	cfg := k.BusConfig()
	p, err := bus.NewProducer(cfg, "test")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p, k, cfg.Topics().Status
}

// TestSendBatch sends 600 status events of 7 jobs in one batch: all
// arrive, each once under its id, and each job's in the order sent.
func TestSendBatch(t *testing.T) {
	p, k, topic := newProducer(t)
	const n = 600
	sent, err := p.SendBatch(context.Background(), topic, batchOf(n, 7))
	if err != nil || sent != n {
		t.Fatalf("SendBatch = %d, %v; want %d, nil", sent, err, n)
	}
	order, ids := readStatus(t, k, topic, func(ids map[string]int) bool { return len(ids) >= n })
	if len(ids) != n {
		t.Errorf("%d distinct ids, want %d", len(ids), n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Errorf("id %s %d times", id, c)
		}
	}
	if len(order) != 7 {
		t.Errorf("%d keys, want 7", len(order))
	}
	for key, is := range order {
		for j := 1; j < len(is); j++ {
			if is[j] <= is[j-1] {
				t.Fatalf("%s: event %d after event %d", key, is[j], is[j-1])
			}
		}
	}
}

// TestSendBatchPartialFailure: the brokers refuse every write to one
// partition. SendBatch fails and says how many events, from the first,
// are in Kafka: never one bound to the refused partition or after it (the
// idempotent producer may fail other partitions' batches too, with an
// epoch bump), and those are in Kafka. Once the brokers accept again,
// the rest sent again arrives: every event of the batch is in Kafka.
func TestSendBatchPartialFailure(t *testing.T) {
	p, k, topic := newProducer(t)
	const refused = int32(1)
	var refusing atomic.Bool
	refusing.Store(true)
	k.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		k.KeepControl()
		if !refusing.Load() {
			return nil, nil, false
		}
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == topic && rp.Partition == refused {
					st := kmsg.NewProduceResponseTopic()
					st.Topic = rt.Topic
					sp := kmsg.NewProduceResponseTopicPartition()
					sp.Partition = rp.Partition
					sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
					st.Partitions = append(st.Partitions, sp)
					resp.Topics = append(resp.Topics, st)
					return resp, nil, true
				}
			}
		}
		return nil, nil, false
	})
	evs := batchOf(50, 10)
	// Where sarama's default partitioner puts each event's key.
	first := -1
	for i, e := range evs {
		key := e.Event.(*messages.JobStatusChanged).JobKey()
		part, err := sarama.NewHashPartitioner(topic).Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, testenv.Partitions)
		if err != nil {
			t.Fatal(err)
		}
		if part == refused {
			first = i
			break
		}
	}
	if first < 0 {
		t.Skip("no event keyed to the refused partition")
	}
	ctx := context.Background()
	sent, err := p.SendBatch(ctx, topic, evs)
	if err == nil || sent > first {
		t.Fatalf("SendBatch = %d, %v; want at most %d and an error", sent, err, first)
	}
	t.Logf("SendBatch: %d sent, %v", sent, err)
	refusing.Store(false)
	rest, err := p.SendBatch(ctx, topic, evs[sent:])
	if err != nil || rest != len(evs)-sent {
		t.Fatalf("the rest again: SendBatch = %d, %v; want %d", rest, err, len(evs)-sent)
	}
	readStatus(t, k, topic, func(ids map[string]int) bool { return len(ids) == len(evs) })
}

// BenchmarkStatusPage publishes one outbox page (256 status events of 64
// jobs) per iteration to a three-broker kfake cluster: one event per
// round trip (SendWithID, how the track worker's outbox published before)
// against one batch (SendBatch). go tool task bench-publish.
func BenchmarkStatusPage(b *testing.B) {
	p, _, topic := newProducer(b)
	page := batchOf(256, 64)
	ctx := context.Background()
	for _, m := range []struct {
		name string
		send func() error
	}{
		{"one-by-one", func() error {
			for _, e := range page {
				if err := p.SendWithID(ctx, e.Event, e.ID, topic); err != nil {
					return err
				}
			}
			return nil
		}},
		{"batch", func() error {
			_, err := p.SendBatch(ctx, topic, page)
			return err
		}},
	} {
		b.Run("method="+m.name, func(b *testing.B) {
			for b.Loop() {
				if err := m.send(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(page))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
