package track

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// Handler registers deployed jobs for tracking.
type Handler struct {
	Store interface {
		Register(ctx context.Context, d *messages.Deployed, now time.Time) (jobstore.RegisterResult, error)
		HistoryStore
	}
	// Log defaults to slog.Default(); Now to time.Now.
	Log *slog.Logger
	Now func() time.Time
}

// Handle registers one deployed job and, for the new run of a move, gives
// it the savepoint history of the record it replaces (carryHistory).
// Redelivery is a no-op (same request id, entries stored already); Redis
// errors are retried.
func (h *Handler) Handle(ctx context.Context, ev *messages.Deployed) ([]bus.Out, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if _, err := h.Store.Register(ctx, ev, now().UTC()); err != nil {
		return nil, fmt.Errorf("registering %s: %w", ev.Job.Key(), err)
	}
	n, err := carryHistory(ctx, h.Store, ev)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log := h.Log
		if log == nil {
			log = slog.Default()
		}
		log.Info("carried the savepoint history of a moved job", "job", ev.Job.Key(), "request_id", ev.RequestID, "entries", n)
	}
	return nil, nil
}
