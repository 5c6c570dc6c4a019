package track

import (
	"context"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// outboxPage is how many status events of a shard are read at once.
const outboxPage = 256

// Publisher publishes a status event with a stable id.
type Publisher interface {
	Publish(ctx context.Context, ev *messages.JobStatusChanged, id string) error
}

// BatchPublisher is a Publisher that can also publish a page of status
// events at once, in order, and says how many of them, from the first,
// were published. The outbox uses it when the Publisher has it: one
// round of produce requests per page instead of one per event (the soak
// showed one-by-one publishing falling behind 5,000 jobs' transitions).
type BatchPublisher interface {
	Publisher
	PublishBatch(ctx context.Context, evs []IdentifiedStatus) (int, error)
}

// IdentifiedStatus is a status event and its stable id.
type IdentifiedStatus struct {
	Event *messages.JobStatusChanged
	ID    string
}

// publish drains the outboxes of the owned shards every second and when
// kicked, until ctx ends. Registrations by any replica land in the
// outboxes too, so the periodic pass is needed.
func (t *Tracker) publish(ctx context.Context) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-t.kick:
		}
		t.drainOutbox(ctx)
	}
}

// drainOutbox publishes the pending status events of the owned shards.
func (t *Tracker) drainOutbox(ctx context.Context) {
	var shards []int
	for _, s := range t.owner.Owned() {
		if t.owner.Owns(s) {
			shards = append(shards, s)
		}
	}
	// One round trip reads every owned outbox; a shard with a full page
	// published is read again.
	for len(shards) > 0 {
		boxes, err := t.store.Outboxes(ctx, shards, outboxPage)
		if err != nil && ctx.Err() == nil {
			t.log.Warn("reading status event outboxes", "error", err.Error())
		}
		var again []int
		for _, s := range shards {
			entries := boxes[s]
			if len(entries) == 0 || !t.owner.Owns(s) {
				continue
			}
			acked := t.publishEntries(ctx, entries)
			if len(acked) > 0 && t.store.AckOutbox(ctx, s, acked...) != nil {
				continue
			}
			if len(acked) == outboxPage {
				again = append(again, s)
			}
		}
		shards = again
	}
}

// publishEntries publishes entries in order and returns the stream ids of
// those published, a prefix of entries: the rest stay in the outbox for
// the next pass.
func (t *Tracker) publishEntries(ctx context.Context, entries []jobstore.OutboxEntry) []string {
	acked := make([]string, 0, len(entries))
	if bp, ok := t.pub.(BatchPublisher); ok {
		evs := make([]IdentifiedStatus, len(entries))
		for i, e := range entries {
			evs[i] = IdentifiedStatus{Event: statusEvent(e), ID: e.EventID}
		}
		n, err := bp.PublishBatch(ctx, evs)
		if err != nil && ctx.Err() == nil {
			t.log.Warn("publishing status events; will retry", "published", n, "of", len(entries),
				"event_id", entries[min(n, len(entries)-1)].EventID, "error", err.Error())
		}
		for _, e := range entries[:min(n, len(entries))] {
			acked = append(acked, e.StreamID)
		}
		t.m.published.Add(float64(len(acked)))
		return acked
	}
	for _, e := range entries {
		if err := t.pub.Publish(ctx, statusEvent(e), e.EventID); err != nil {
			if ctx.Err() == nil {
				t.log.Warn("publishing status event; will retry", "event_id", e.EventID, "error", err.Error())
			}
			break
		}
		t.m.published.Inc()
		acked = append(acked, e.StreamID)
	}
	return acked
}

// statusEvent is the *job status changed* event of an outbox entry: the
// recorded transition and the identity of the job's run it belongs to.
func statusEvent(e jobstore.OutboxEntry) *messages.JobStatusChanged {
	return &messages.JobStatusChanged{
		RequestID:     e.RequestID,
		Job:           e.Job,
		Mode:          e.Mode,
		FlinkJobID:    e.FlinkJobID,
		From:          e.From,
		To:            e.To,
		Reason:        e.Reason,
		Message:       e.Message,
		WebUIURL:      e.WebUIURL,
		Labels:        e.Labels,
		Time:          e.Time,
		SavepointPath: e.SavepointPath,
		Operation:     operationRef(e),
	}
}

// operationRef names the operation an outbox entry is a step of; nil for
// the job's own transitions.
func operationRef(e jobstore.OutboxEntry) *messages.OperationRef {
	if e.OpRequestID == "" {
		return nil
	}
	return &messages.OperationRef{RequestID: e.OpRequestID, Operation: e.Operation, Status: stepStatus(e.Operation, e.Reason)}
}

// stepStatus is where an operation is after a step with reason: the
// reasons are ops.Step's and the "<operation>_requested" of the state an
// operation shows while in flight.
func stepStatus(op messages.Operation, reason string) messages.OperationStatus {
	switch {
	case strings.HasSuffix(reason, "_requested"), strings.HasPrefix(reason, "auto_restart_"):
		return messages.OperationRequested
	case strings.HasSuffix(reason, "_failed"), reason == ops.ReasonTimeout, reason == ops.ReasonJobEnded,
		reason == ops.ReasonUnreachable, reason == jobstore.ReasonSuperseded:
		return messages.OperationFailed
	case reason == "savepoint_completed" && op != messages.OpSavepoint:
		return messages.OperationInProgress // suspend, upgrade, restart: the cluster is removed next
	}
	return messages.OperationCompleted
}
