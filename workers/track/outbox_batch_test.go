package track

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// batchLog is a BatchPublisher whose batches fail from the failAt-th
// event on while failAt ≥ 0, after publishing the ones before.
type batchLog struct {
	eventLog
	failAt  int
	batches int
}

func (b *batchLog) PublishBatch(ctx context.Context, evs []IdentifiedStatus) (int, error) {
	b.batches++
	for i, e := range evs {
		if i == b.failAt {
			return i, errors.New("broker refused")
		}
		if err := b.Publish(ctx, e.Event, e.ID); err != nil {
			return i, err
		}
	}
	return len(evs), nil
}

// TestPublishEntriesInBatches: a publisher with batches gets the page in
// one call; on a partial failure only the published prefix is removed
// from the outbox, and the rest is published on the next pass under the
// same ids, in order.
func TestPublishEntriesInBatches(t *testing.T) {
	pub := &batchLog{failAt: 3}
	tr := NewTracker(TrackConfig{JobStatusInterval: time.Second, ClusterMetricInterval: time.Second},
		Deps{Publisher: pub, Registerer: prometheus.NewRegistry()})
	var entries []jobstore.OutboxEntry
	for i := range 5 {
		entries = append(entries, jobstore.OutboxEntry{
			StreamID: fmt.Sprintf("1-%d", i), EventID: fmt.Sprintf("ns/j@1.%d.RUNNING", i),
			Job: messages.JobRef{Namespace: "ns", ClusterID: "j"}, To: messages.StateRunning,
		})
	}
	acked := tr.publishEntries(context.Background(), entries)
	if want := []string{"1-0", "1-1", "1-2"}; !slices.Equal(acked, want) || pub.batches != 1 {
		t.Fatalf("acked %v in %d batches, want %v in 1", acked, pub.batches, want)
	}
	pub.failAt = -1
	acked = tr.publishEntries(context.Background(), entries[len(acked):])
	if want := []string{"1-3", "1-4"}; !slices.Equal(acked, want) {
		t.Fatalf("second pass acked %v, want %v", acked, want)
	}
	if n := len(pub.all()); n != 5 {
		t.Fatalf("%d distinct events published, want 5", n)
	}
}
