package track

import (
	"context"
	"fmt"
	"time"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// Handler registers deployed jobs for tracking.
type Handler struct {
	Store interface {
		Register(ctx context.Context, d *messages.Deployed, now time.Time) (jobstore.RegisterResult, error)
	}
}

// Handle registers one deployed job. Redelivery is a no-op (same request
// id); Redis errors are retried.
func (h *Handler) Handle(ctx context.Context, ev *messages.Deployed) ([]bus.Out, error) {
	if _, err := h.Store.Register(ctx, ev, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("registering %s: %w", ev.Job.Key(), err)
	}
	return nil, nil
}
