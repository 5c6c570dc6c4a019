package track

import (
	"context"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// TestStatusEvent builds the event of a registered job's first outbox
// entry, as read from Redis: valid, with the run's identity and the
// transition. (The validity check was jobstore's TestRegisterIsIdempotent
// when the store built the event.)
func TestStatusEvent(t *testing.T) {
	s := newStore(t, testenv.Redis(t), 8)
	d := deployed("flink-jobs", "wordcount", jobIDOf(0), restURL("flink-jobs", "wordcount"))
	d.Labels = map[string]string{"team": "data"}
	at := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	ctx := context.Background()
	r, err := s.Register(ctx, d, at)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.Outbox(ctx, r.Shard, 10)
	if err != nil || len(es) != 1 {
		t.Fatalf("Outbox() = %d entries, %v; want 1", len(es), err)
	}
	ev := statusEvent(es[0])
	if err := ev.Validate(); err != nil {
		t.Errorf("status event is invalid: %v", err)
	}
	if ev.From != "" || ev.To != messages.StateStarting || ev.Reason != jobstore.ReasonDeployed || ev.RequestID != d.RequestID ||
		ev.Job != d.Job || ev.Mode != d.Mode || ev.FlinkJobID != d.FlinkJobID || ev.WebUIURL != d.WebUIURL ||
		ev.Labels["team"] != "data" || !ev.Time.Equal(at) {
		t.Errorf("status event = %+v", ev)
	}
}
