package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// conditionID is the idempotency key of a condition's evaluation: the
// same while the condition keeps its truth value, so evaluating again
// sends nothing new, while a notice whose delivery was cut short is sent
// again to the channels still pending.
func conditionID(rule, key string, fires bool) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "condition\x00%s\x00%s\x00%t", rule, key, fires))
	return hex.EncodeToString(sum[:16])
}

// restartWindow is the longest window of the restart conditions (0 when
// no rule counts restarts).
func (h *Handler) restartWindow() time.Duration {
	return h.longestWindow(func(c *Condition) *CountWindow { return c.Restarts })
}

// failedWindow is the longest window of the failed-checkpoint conditions.
func (h *Handler) failedWindow() time.Duration {
	return h.longestWindow(func(c *Condition) *CountWindow { return c.FailedCheckpoints })
}

// longestWindow is the longest window of the rules' count conditions that
// pick returns (nil for a condition of another kind); 0 when there are none.
func (h *Handler) longestWindow(pick func(*Condition) *CountWindow) time.Duration {
	var w time.Duration
	for _, r := range h.Rules {
		if r.Condition == nil {
			continue
		}
		if cw := pick(r.Condition); cw != nil {
			w = max(w, cw.Window)
		}
	}
	return w
}

// conditionNotice is the notice of condition rule r for a job.
func conditionNotice(r Rule, j *jobstore.Job, fires bool, detail string, now time.Time) *Notice {
	status := StatusResolved
	if fires {
		status = StatusFiring
	}
	return &Notice{
		Status: status, Rule: r.Name, Severity: r.Severity, Fingerprint: Fingerprint(r.Name, j.Key),
		Job: j.Job, Key: j.Key, Mode: string(j.Mode), FlinkJobID: j.FlinkJobID,
		To: string(j.State), Reason: r.Condition.reasonOf(), Message: detail,
		WebUIURL: j.WebUIURL, Labels: j.Labels, Time: now.UTC(), StartsAt: now.UTC(),
	}
}

// applyRestarts evaluates restart condition r on a status event of the job.
// It returns the alert's action, its notice and the id applied.
func (h *Handler) applyRestarts(ctx context.Context, r Rule, ev *messages.JobStatusChanged, now time.Time) (Action, *Notice, string, error) {
	c := r.Condition
	n, err := h.Store.Restarts(ctx, ev.JobKey(), now.Add(-c.Restarts.Window))
	if err != nil {
		return Action{}, nil, "", err
	}
	fires, detail := c.Eval(JobFacts{RestartsInWindow: n}, now)
	j := &jobstore.Job{Key: ev.JobKey(), Job: ev.Job, Mode: ev.Mode, FlinkJobID: ev.FlinkJobID, State: ev.To,
		WebUIURL: ev.WebUIURL, Labels: ev.Labels}
	notice := conditionNotice(r, j, fires, detail, now)
	id := conditionID(r.Name, notice.Key, fires)
	a, err := h.Store.ApplyUnlimited(ctx, id, fires, notice, r.Channels, now)
	return a, notice, id, err
}

// Evaluate evaluates every condition rule on jobs (the track worker's
// records) at the handler's clock, fires and resolves the alerts and
// sends their notices. An alert of a job that is no longer in jobs (or
// no longer selected) resolves. Delivery errors are returned joined;
// the next evaluation sends the notices again to the channels that missed
// them.
func (h *Handler) Evaluate(ctx context.Context, jobs []*jobstore.Job) error {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	var conds []Rule
	for _, r := range h.Rules {
		if r.Condition != nil {
			conds = append(conds, r)
		}
	}
	if len(conds) == 0 {
		return nil
	}
	firing, err := h.Store.Firing(ctx)
	if err != nil {
		return fmt.Errorf("reading firing alerts: %w", err)
	}
	byFP := make(map[string]*Notice, len(firing))
	for i := range firing {
		byFP[firing[i].Fingerprint] = &firing[i]
	}
	pending, err := h.Store.Pending(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var due []*pendingNotice
	for _, j := range jobs {
		var restartsBy map[time.Duration]int
		var failedSamples []countSample
		for _, r := range conds {
			if !r.Match.Selects(j.Job, j.Labels, j.Mode) {
				continue
			}
			c := r.Condition
			f := JobFacts{State: j.State, StateSince: j.StateSince, DeployedAt: j.DeployedAt, LastCheckpointAt: j.Checkpoints.LastCompletedAt}
			switch {
			case c.Restarts != nil:
				if restartsBy == nil {
					restartsBy = map[time.Duration]int{}
				}
				n, ok := restartsBy[c.Restarts.Window]
				if !ok {
					if n, err = h.Store.Restarts(ctx, j.Key, now.Add(-c.Restarts.Window)); err != nil {
						return err
					}
					restartsBy[c.Restarts.Window] = n
				}
				f.RestartsInWindow = n
			case c.FailedCheckpoints != nil:
				if failedSamples == nil {
					keep := 2 * h.failedWindow()
					if failedSamples, err = h.Store.SampleFailedCheckpoints(ctx, j.Key, now, j.Checkpoints.Failed, keep); err != nil {
						return err
					}
				}
				f.FailedCheckpointsInWindow = failedIncrease(failedSamples, c.FailedCheckpoints.Window, now)
			}
			fires, detail := c.Eval(f, now)
			fp := Fingerprint(r.Name, j.Key)
			seen[fp] = true
			if !fires && byFP[fp] == nil && !pending[fp] {
				continue // nothing to fire, resolve or deliver again
			}
			d, err := h.applyCondition(ctx, r, conditionNotice(r, j, fires, detail, now), fires, now)
			if err != nil {
				return err
			}
			if d != nil {
				due = append(due, d)
			}
		}
	}
	// Alerts of condition rules whose job is gone or no longer selected.
	for fp, n := range byFP {
		r, ok := h.rule(n.Rule)
		if seen[fp] || !ok || r.Condition == nil {
			continue
		}
		gone := *n
		gone.Status, gone.Time, gone.Message = StatusResolved, now.UTC(), "the job is no longer tracked or selected"
		d, err := h.applyCondition(ctx, r, &gone, false, now)
		if err != nil {
			return err
		}
		if d != nil {
			due = append(due, d)
		}
	}
	return h.send(ctx, due)
}

// rule returns the rule named name.
func (h *Handler) rule(name string) (Rule, bool) {
	for _, r := range h.Rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// applyCondition applies a condition's truth value to its alert; it
// returns the notice to send, if any.
func (h *Handler) applyCondition(ctx context.Context, r Rule, n *Notice, fires bool, now time.Time) (*pendingNotice, error) {
	id := conditionID(r.Name, n.Key, fires)
	a, err := h.Store.ApplyUnlimited(ctx, id, fires, n, r.Channels, now)
	if err != nil {
		return nil, err
	}
	if a.Kind != "notify" {
		return nil, nil
	}
	n.Status, n.StartsAt = a.Status, a.Since
	return &pendingNotice{id: id, notice: n, pending: a.Pending, errs: make([]error, len(a.Pending))}, nil
}

// send delivers the due notices concurrently, records each channel that
// took its notice, and the history; it returns the delivery errors.
func (h *Handler) send(ctx context.Context, due []*pendingNotice) error {
	log := logging.FromContext(ctx)
	// A channel removed from the rules file since the notice was due
	// takes nothing: it is recorded as done, so the alert is not retried
	// for it forever.
	for _, d := range due {
		kept := d.pending[:0]
		for _, name := range d.pending {
			if h.Channels[name] != nil {
				kept = append(kept, name)
				continue
			}
			if err := h.Store.Done(ctx, d.notice.Fingerprint, d.id, name); err != nil {
				return &storeError{err}
			}
		}
		d.pending, d.errs = kept, d.errs[:len(kept)]
	}
	byJob := map[string]*FlinkFacts{}
	for _, d := range due {
		f, ok := byJob[d.notice.Key]
		if !ok {
			f = h.facts(ctx, d.notice.Key)
			byJob[d.notice.Key] = f
		}
		d.notice.Flink = f
	}
	sem := make(chan struct{}, maxConcurrentDeliveries)
	var wg sync.WaitGroup
	for _, d := range due {
		for i, name := range d.pending {
			ch := h.Channels[name]
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				d.errs[i] = ch.Deliver(ctx, d.notice)
			})
		}
	}
	wg.Wait()
	var failed []error
	for _, d := range due {
		n := d.notice
		var errs []error
		for i, name := range d.pending {
			if err := d.errs[i]; err != nil {
				errs = append(errs, err)
				continue
			}
			if err := h.Store.Done(ctx, n.Fingerprint, d.id, name); err != nil {
				// Retried: the channels already done are sent again (at least once).
				return &storeError{err}
			}
		}
		h.history(ctx, d.id, n, n.Status, d)
		if len(errs) > 0 {
			err := fmt.Errorf("rule %s, %s notice of %s: %w", n.Rule, n.Status, n.Key, errors.Join(errs...))
			log.Warn("alert not delivered", "rule", n.Rule, "fingerprint", n.Fingerprint, "error", err)
			failed = append(failed, err)
			continue
		}
		log.Info("alert sent", "rule", n.Rule, "status", n.Status, "fingerprint", n.Fingerprint, "channels", d.pending)
	}
	return errors.Join(failed...)
}

// maxConcurrentDeliveries bounds the deliveries in flight of one event or
// evaluation.
const maxConcurrentDeliveries = 64

// storeError is a Redis error while recording deliveries: transient.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// JobReader reads the track worker's record of a job (read-only).
type JobReader interface {
	Get(ctx context.Context, key string) (*jobstore.Job, error)
	Transitions(ctx context.Context, key string, n int) ([]jobstore.TransitionRecord, error)
}

// facts reads the figures of job key for its notices; nil when the job
// is not recorded or Redis fails (the notice goes without them).
func (h *Handler) facts(ctx context.Context, key string) *FlinkFacts {
	if h.Jobs == nil {
		return nil
	}
	j, err := h.Jobs.Get(ctx, key)
	if err != nil || j == nil {
		return nil
	}
	f := &FlinkFacts{StartTime: j.StartTime.UTC(), EndTime: j.EndTime.UTC(), DurationMS: j.DurationMS,
		CheckpointsCompleted: j.Checkpoints.Completed, CheckpointsFailed: j.Checkpoints.Failed,
		LastCheckpointAt: j.Checkpoints.LastCompletedAt.UTC(), LastCheckpointFailedAt: j.Checkpoints.LastFailedAt.UTC(),
		LastCheckpointFailure: truncate(j.Checkpoints.LastFailureMessage, 1024)}
	if j.StartTime.IsZero() {
		f.StartTime = time.Time{}
	}
	if j.EndTime.IsZero() {
		f.EndTime = time.Time{}
	}
	if j.Checkpoints.LastCompletedAt.IsZero() {
		f.LastCheckpointAt = time.Time{}
	}
	if j.Checkpoints.LastFailedAt.IsZero() {
		f.LastCheckpointFailedAt = time.Time{}
	}
	if trs, err := h.Jobs.Transitions(ctx, key, 0); err == nil {
		for _, tr := range trs {
			if tr.RequestID == j.RequestID && tr.To == messages.StateRestarting {
				f.Restarts++
			}
		}
	}
	return f
}
