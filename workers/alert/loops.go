package alert

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// JobLister reads the track worker's job records (read-only).
type JobLister interface {
	List(ctx context.Context, f jobstore.Filter) ([]*jobstore.Job, error)
}

// Loops are the alert worker's periodic work besides the status topic:
// evaluating the conditions over time and posting firing alerts to
// Alertmanager again. One replica does each per interval (Store.Tick).
type Loops struct {
	Handler *Handler
	Jobs    JobLister
	// EvaluateInterval and ResendInterval are the periods.
	EvaluateInterval, ResendInterval time.Duration
	Log                              *slog.Logger
}

// Run runs the loops until ctx ends.
func (l *Loops) Run(ctx context.Context) error {
	ctx = logging.WithLogger(ctx, l.Log.With("loop", "alert"))
	hasConditions, hasAM := false, false
	for _, r := range l.Handler.Rules {
		if r.Condition != nil {
			hasConditions = true
		}
	}
	for _, ch := range l.Handler.Channels {
		if _, ok := ch.(*Alertmanager); ok {
			hasAM = true
		}
	}
	evaluate := time.NewTicker(l.EvaluateInterval)
	defer evaluate.Stop()
	resend := time.NewTicker(l.ResendInterval)
	defer resend.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-evaluate.C:
			if hasConditions && l.turn(ctx, "evaluate", l.EvaluateInterval) {
				l.evaluate(ctx)
			}
		case <-resend.C:
			if hasAM && l.turn(ctx, "resend", l.ResendInterval) {
				if err := l.Handler.Resend(ctx); err != nil {
					l.Log.Warn("resending firing alerts to Alertmanager failed", "error", err)
				}
			}
		}
	}
}

// turn takes this interval's turn of loop, for 90% of the interval so a
// replica whose ticker fires a little early still takes the next one.
func (l *Loops) turn(ctx context.Context, loop string, interval time.Duration) bool {
	ok, err := l.Handler.Store.Tick(ctx, loop, interval*9/10)
	if err != nil {
		l.Log.Warn("alert loop skipped", "loop", loop, "error", err)
		return false
	}
	return ok
}

func (l *Loops) evaluate(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, l.EvaluateInterval)
	defer cancel()
	jobs, err := l.Jobs.List(ctx, jobstore.Filter{})
	if err != nil {
		l.Log.Warn("reading the track worker's jobs failed", "error", err)
		return
	}
	start := time.Now()
	err = l.Handler.Evaluate(ctx, jobs)
	l.Handler.m().evaluation.Observe(time.Since(start).Seconds())
	if err != nil {
		l.Log.Warn("evaluating alert conditions", "jobs", len(jobs), "error", err)
	}
}

// maxResendBatch bounds the alerts posted in one Alertmanager request.
const maxResendBatch = 500

// Resend posts every firing alert again to the Alertmanager channels of
// its rule, extending its endsAt.
func (h *Handler) Resend(ctx context.Context) error {
	firing, err := h.Store.Firing(ctx)
	if err != nil {
		return err
	}
	batches := map[string][]*Notice{}
	for i := range firing {
		n := &firing[i]
		r, ok := h.rule(n.Rule)
		if !ok {
			continue
		}
		for _, name := range r.Channels {
			if _, ok := h.Channels[name].(*Alertmanager); ok {
				batches[name] = append(batches[name], n)
			}
		}
	}
	var errs []error
	for name, ns := range batches {
		am := h.Channels[name].(*Alertmanager)
		for len(ns) > 0 {
			k := min(len(ns), maxResendBatch)
			result := "ok"
			if err := am.Resend(ctx, ns[:k]); err != nil {
				errs = append(errs, err)
				result = "failed"
			}
			h.m().resent.WithLabelValues(name, result).Add(float64(k))
			ns = ns[k:]
		}
	}
	return joinErrs(errs)
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
