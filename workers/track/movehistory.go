package track

import (
	"context"
	"errors"
	"fmt"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// HistoryStore is what carrying a moved job's savepoint history needs
// from Redis (workers/track/jobstore.Store).
type HistoryStore interface {
	Get(ctx context.Context, key string) (*jobstore.Job, error)
	Savepoints(ctx context.Context, key string, n int) ([]jobstore.SavepointEntry, error)
	AddSavepoint(ctx context.Context, key string, e jobstore.SavepointEntry) (bool, error)
}

// carryHistory gives the record of a moved job's new run (d, registered
// under the target's key) the savepoint history of the record it replaces
// (docs/upgrades.md, "Move between clusters"): every entry of the old
// record's history, their times kept, so the move's savepoint (trigger
// upgrade) is the newest. It does so only when d is the new run of a move
// the old record ran (its operation is the upgrade with d's request id,
// targeting d's job); any other run, or an old record no longer stored,
// gets nothing. Idempotent: AddSavepoint skips an entry stored already
// (same request id and path), so a redelivered deployed event adds
// nothing. It returns how many entries it added.
func carryHistory(ctx context.Context, s HistoryStore, d *messages.Deployed) (int, error) {
	if d.Request == nil {
		return 0, nil
	}
	from, moves := d.Request.MovedFrom()
	if !moves {
		return 0, nil
	}
	old, err := s.Get(ctx, from.Key())
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading %s, which %s moved from: %w", from.Key(), d.Job.Key(), err)
	}
	op := old.Op
	if op == nil || op.RequestID != d.RequestID || !movedAway(old) || op.Upgrade.Job.Key() != d.Job.Key() {
		return 0, nil
	}
	entries, err := s.Savepoints(ctx, from.Key(), 0)
	if err != nil {
		return 0, fmt.Errorf("reading the savepoint history of %s, which %s moved from: %w", from.Key(), d.Job.Key(), err)
	}
	if move, ok := moveSavepoint(op, entries, d); ok {
		entries = append(entries, move)
	}
	added := 0
	for _, e := range entries {
		ok, err := s.AddSavepoint(ctx, d.Job.Key(), e)
		if err != nil {
			return added, fmt.Errorf("carrying the savepoint history of %s to %s: %w", from.Key(), d.Job.Key(), err)
		}
		if ok {
			added++
		}
	}
	return added, nil
}

// moveSavepoint is the move's own savepoint when the old record's history
// lacks it (recording it there failed: the tracker logs and goes on), at
// the time the new run was deployed; false when the history has it or
// the move took none (the job did not run: it moved from the history's
// latest savepoint).
func moveSavepoint(op *ops.Op, entries []jobstore.SavepointEntry, d *messages.Deployed) (jobstore.SavepointEntry, bool) {
	if op.Offline || op.Location == "" {
		return jobstore.SavepointEntry{}, false
	}
	for _, e := range entries {
		if e.RequestID == op.RequestID && e.Path == op.Location {
			return jobstore.SavepointEntry{}, false
		}
	}
	return jobstore.SavepointEntry{Path: op.Location, Time: d.Time, Trigger: jobstore.TriggerUpgrade,
		Result: ops.Completed, RequestID: op.RequestID, Format: messages.FormatCanonical}, true
}
