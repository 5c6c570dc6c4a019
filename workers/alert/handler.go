package alert

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// ReasonUndeliverable is the dead-letter reason of a status event whose
// notice a channel did not take within the retry budget (or refused).
const ReasonUndeliverable = "alert_undeliverable"

// Channel delivers notices (webhook; Alertmanager and email later).
type Channel interface {
	// Name is the channel's name in the rules file.
	Name() string
	// Deliver sends n, retrying within its own budget; an error means the
	// notice was not delivered.
	Deliver(ctx context.Context, n *Notice) error
}

// Handler turns status events into notices.
type Handler struct {
	Rules    []Rule
	Channels map[string]Channel
	Store    *Store
	// Jobs reads the track worker's job records for the notices' Flink
	// figures (none when nil).
	Jobs JobReader
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	once    sync.Once
	metrics *metrics
}

// m returns the handler's metrics (unregistered ones when none were set).
func (h *Handler) m() *metrics {
	h.once.Do(func() {
		if h.metrics == nil {
			h.metrics = newMetrics(nil)
		}
	})
	return h.metrics
}

// pendingNotice is one alert to notify for the event being handled.
type pendingNotice struct {
	// id is the event (or condition evaluation) the notice is for.
	id      string
	notice  *Notice
	pending []string
	errs    []error
}

// Handle applies a status event to every rule's alert of its job and
// sends the notices due. Events other than JobStatusChanged (control
// refusals, image built, ...) are ignored. A notice that is not delivered
// fails the event permanently (alert_undeliverable), so the bus
// dead-letters it; Redis errors are transient and retried.
func (h *Handler) Handle(ctx context.Context, ev messages.Event) ([]bus.Out, error) {
	js, ok := ev.(*messages.JobStatusChanged)
	if !ok {
		return nil, nil
	}
	log := logging.FromContext(ctx)
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	id := eventID(js)
	if js.To == messages.StateRestarting {
		if keep := h.restartWindow(); keep > 0 {
			if err := h.Store.AddRestart(ctx, js.JobKey(), id, js.Time, keep); err != nil {
				return nil, err
			}
		}
	}
	var due []*pendingNotice
	for _, r := range h.Rules {
		var a Action
		var n *Notice
		var err error
		applied := id
		switch {
		case r.Condition == nil:
			matches := r.Match.Matches(js)
			status := StatusResolved
			if matches {
				status = StatusFiring
			}
			n = newNotice(status, r, js, js.Time)
			a, err = h.Store.Apply(ctx, id, matches, n, r.Channels, now())
		case r.Condition.Restarts != nil && r.Match.Selects(js.Job, js.Labels, js.Mode):
			// Restarts fire on the event itself; the evaluator resolves
			// them when the window has moved on.
			a, n, applied, err = h.applyRestarts(ctx, r, js, now())
		default:
			continue // evaluated periodically (Evaluate)
		}
		if err != nil {
			return nil, err
		}
		switch a.Kind {
		case "notify":
			n.Status, n.StartsAt = a.Status, a.Since
			due = append(due, &pendingNotice{id: applied, notice: n, pending: a.Pending, errs: make([]error, len(a.Pending))})
		case "suppressed":
			h.m().suppressed.WithLabelValues(r.Name).Inc()
			log.Info("alert suppressed by the job's minimum interval", "rule", r.Name, "fingerprint", n.Fingerprint)
			h.history(ctx, applied, n, "suppressed", nil)
		}
	}
	err := h.send(ctx, due)
	var se *storeError
	if errors.As(err, &se) {
		return nil, se.err
	}
	if err != nil {
		return nil, failure.Permanent(ReasonUndeliverable, err)
	}
	return nil, nil
}

// history records a notice in the history; a failure is logged only (the
// notice itself was handled).
func (h *Handler) history(ctx context.Context, id string, n *Notice, status string, d *pendingNotice) {
	r := Record{
		Time: n.Time, Status: status, Rule: n.Rule, Severity: n.Severity, Fingerprint: n.Fingerprint,
		Job: n.Key, From: n.From, To: n.To, Reason: n.Reason, WebUIURL: n.WebUIURL, Event: id, Channels: []string{},
	}
	if d != nil {
		for i, name := range d.pending {
			if d.errs[i] != nil {
				if r.Failed == nil {
					r.Failed = map[string]string{}
				}
				r.Failed[name] = truncate(d.errs[i].Error(), 512)
				continue
			}
			r.Channels = append(r.Channels, name)
		}
	}
	err := h.Store.AddHistory(ctx, r)
	if err != nil && ctx.Err() == nil {
		// Once more: a pooled connection closed under the first try
		// (seen once per ~1,000 writes in the benchmark) is replaced.
		err = h.Store.AddHistory(ctx, r)
	}
	if err != nil {
		logging.FromContext(ctx).Warn("recording alert history failed", "fingerprint", n.Fingerprint, "error", err)
	}
}
