package track

import (
	"context"
	"errors"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// Day-2 operations are advanced by the replica that polls the job (the
// owner of its shard), every OperationInterval: the loop picks the jobs
// whose operation is in flight and hands one round of each to the
// operation pool, which runs the phase's action (trigger, poll, clean,
// redeploy), decides with ops.Next, records the new phase in Redis
// (compare-and-set on the request id and phase) and hands the operation
// back to the loop. The loop then decides the job again, so the state the
// operation shows (SUSPENDING, SUSPENDED...) is written as a transition
// like any other. No handler and no loop turn waits for Flink.

// opQueue bounds the rounds waiting for the pool; a round that does not
// fit is tried again at the next interval.
const opQueue = 4096

// opRound is one round of one job's operation, or (load) a read of the
// job's operation after the control handler recorded a new one.
type opRound struct {
	job        jobstore.Job
	flinkState messages.JobState // the job's state in Flink as last polled
	load       bool
	// periodic is the request id of periodic savepoint slot to record
	// (periodic.go).
	periodic string
	slot     int64
	// auto: check the job's restart policy (autorestart.go).
	auto bool
	// handBack: fail the job's hand-over, whose new run did not register
	// in time (handback.go).
	handBack bool
}

// opDone is a finished round, for the loop.
type opDone struct {
	key string
	// set: the job's operation is next (nil: none).
	set  bool
	next *ops.Op
	// slot is the periodic savepoint slot handled (periodic.go), 0 if none.
	slot int64
	// loaded: a read of a marked job (loadJob), whole in job.
	loaded bool
	job    *jobstore.Job
	// stepped: a step went to the outbox (UpdateOp): publish it now.
	stepped bool
}

// opWorkers is the size of the operation pool.
func (t *Tracker) opWorkers() int { return max(4, min(t.cfg.Concurrency/4, 64)) }

// opWorker runs rounds until ctx ends.
func (t *Tracker) opWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-t.opTasks:
			var d opDone
			switch {
			case r.load:
				// The loop shows the operation (SUSPENDING...) before its
				// first round, which it queues at once (foldOps).
				d = t.loadJob(ctx, r.job.Key)
				d.loaded = true
			case r.periodic != "":
				d = t.recordPeriodic(ctx, r)
			case r.auto:
				d = t.checkAutoRestart(ctx, r)
			case r.handBack:
				d = t.failHandBack(ctx, r)
			default:
				d = t.round(ctx, r)
			}
			select {
			case t.opResults <- d:
			case <-ctx.Done():
				return
			}
		}
	}
}

// advanceOps queues a round of every operation in flight of the owned
// jobs, and a read of the operations the control handler marked.
func (t *Tracker) advanceOps(ctx context.Context) {
	queue := func(r opRound) {
		select {
		case t.opTasks <- r:
			t.opBusy[r.job.Key] = true
		default:
		}
	}
	owned := t.owner.Owned()
	marked, err := t.store.ActiveOps(ctx, owned)
	if err != nil && ctx.Err() == nil {
		t.log.Warn("reading the active operations", "error", err.Error())
	}
	for _, k := range marked {
		j := t.jobs[k]
		if j == nil || t.opBusy[k] || (j.Op != nil && j.Op.Phase != ops.Done) {
			continue
		}
		queue(opRound{job: *j, flinkState: t.flinkStates[k], load: true})
	}
	now := t.now()
	for k, j := range t.jobs {
		if j.Op == nil || t.opBusy[k] || !t.owner.Owns(j.Shard) {
			continue
		}
		if j.Op.Phase == ops.Done {
			if handBackOverdue(j, now) {
				queue(opRound{job: *j, handBack: true})
			}
			continue
		}
		queue(opRound{job: *j, flinkState: t.flinkStates[k]})
	}
	t.periodicDue(t.now(), queue)
	t.autoRestartDue(t.now(), queue)
}

// loadOp reads the job's operation; a mark without an operation in
// flight is removed.
func (t *Tracker) loadOp(ctx context.Context, key string) opDone {
	op, _, err := t.store.Op(ctx, key)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		_ = t.store.UnmarkOp(ctx, key)
		return opDone{key: key}
	case err != nil:
		return opDone{key: key}
	}
	if op == nil || op.Phase == ops.Done {
		_ = t.store.UnmarkOp(ctx, key)
	}
	return opDone{key: key, set: true, next: op}
}

// loadJob reads a marked job whole: a new operation, or fields another
// writer filled in (register: a recovered job's REST endpoint). A mark
// without an operation in flight is removed.
func (t *Tracker) loadJob(ctx context.Context, key string) opDone {
	j, err := t.store.Get(ctx, key)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		_ = t.store.UnmarkOp(ctx, key)
		return opDone{key: key}
	case err != nil:
		return opDone{key: key}
	}
	if j.Op == nil || j.Op.Phase == ops.Done {
		_ = t.store.UnmarkOp(ctx, key)
	}
	return opDone{key: key, set: true, next: j.Op, job: j}
}

// chainedRounds bounds the rounds one task runs back to back: a phase
// that changed (accepted, savepoint completed) goes on to its next action
// at once rather than an interval later.
const chainedRounds = 3

// round runs rounds of the job's operation while each moves it to
// another phase, chainedRounds at most.
func (t *Tracker) round(ctx context.Context, r opRound) opDone {
	var last opDone
	for range chainedRounds {
		d := t.roundOnce(ctx, r)
		if !d.set {
			return last.orElse(d)
		}
		last = d
		if d.next == nil || d.next.Phase == ops.Done || d.next.Phase == r.job.Op.Phase || d.next.RequestID != r.job.Op.RequestID {
			return d
		}
		r.job.Op = d.next
	}
	return last
}

// orElse is d when d records something, else other.
func (d opDone) orElse(other opDone) opDone {
	if d.set {
		return d
	}
	return other
}

// roundOnce runs one round of the job's operation.
func (t *Tracker) roundOnce(ctx context.Context, r opRound) opDone {
	j, op := &r.job, *r.job.Op
	now := t.now()
	d := ops.Next(op, ops.Observation{Time: now, JobState: r.flinkState, ObjectsLeft: -1})
	if !changed(op, d) && d.Action != ops.None {
		res := t.act(ctx, opTask{job: *j, op: op, action: d.Action})
		next := op
		if res.triggerID != "" {
			next.TriggerID = res.triggerID
		}
		js := res.jobState
		if js == "" {
			js = r.flinkState
		}
		d = ops.Next(next, ops.Observation{Time: t.now(), Outcome: res.outcome, JobState: js, ObjectsLeft: res.left})
	}
	if !changed(op, d) {
		return opDone{key: j.Key}
	}
	return t.settle(ctx, j, op, d)
}

// changed reports whether d moves op on (a step is always a move).
func changed(op ops.Op, d ops.Decision) bool {
	return d.Step != nil || d.Op.Phase != op.Phase || d.Op.TriggerID != op.TriggerID || d.Op.Location != op.Location
}

// settle records decision d of operation prev of job j: the savepoint
// history, then the operation (compare-and-set), with its step as an
// event unless the job's next transition carries it.
func (t *Tracker) settle(ctx context.Context, j *jobstore.Job, prev ops.Op, d ops.Decision) opDone {
	now := t.now()
	if d.Step != nil {
		t.recordSavepoint(ctx, j, d)
		// Before the operation is recorded done: a failure leaves the
		// round to be decided again (the disposal's status is read again).
		if err := t.forgetDisposed(ctx, j, d.Op); err != nil {
			if ctx.Err() == nil {
				t.log.Warn("removing a disposed savepoint from the history", "job", j.Key, "request_id", prev.RequestID, "error", err.Error())
			}
			return opDone{key: j.Key}
		}
	}
	step := d.Step
	if step != nil && carried(j, d.Op) {
		step = nil
	}
	ok, err := t.store.UpdateOp(ctx, j.Key, prev.RequestID, prev.Phase, d.Op, jobstore.StepOf(step, now))
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("recording an operation step", "job", j.Key, "request_id", prev.RequestID, "error", err.Error())
		}
		return opDone{key: j.Key}
	}
	if !ok { // another operation (a cancel superseded it) or another replica's step
		return t.loadOp(ctx, j.Key)
	}
	if d.Step != nil {
		t.m.opSteps.WithLabelValues(string(d.Op.Operation), d.Step.Reason).Inc()
	}
	if d.Op.Phase == ops.Done {
		_ = t.store.UnmarkOp(ctx, j.Key)
	}
	next := d.Op
	return opDone{key: j.Key, set: true, next: &next, stepped: step != nil}
}

// carried reports whether the job's transition after its operation
// becomes op carries op's step: the state the job shows changes.
func carried(j *jobstore.Job, op ops.Op) bool {
	c := *j
	c.Op = &op
	d, _ := overlay(&c, state.Decision{State: underlyingPrev(j.State)})
	return d.State != j.State
}

// recordSavepoint adds the savepoint a step produced (or failed to) to
// the job's history, applies the retention and disposes, through Flink,
// the savepoints it dropped.
func (t *Tracker) recordSavepoint(ctx context.Context, j *jobstore.Job, d ops.Decision) {
	op := d.Op
	if !op.StopsWithSavepoint() && op.Operation != messages.OpSavepoint {
		return
	}
	e := jobstore.SavepointEntry{Time: t.now(), Trigger: jobstore.TriggerManual, RequestID: op.RequestID, Format: messages.FormatCanonical}
	switch {
	case op.Operation == messages.OpSuspend:
		e.Trigger = jobstore.TriggerSuspend
	case isPeriodic(op):
		e.Trigger = jobstore.TriggerPeriodic
	case op.Operation == messages.OpUpgrade:
		e.Trigger = jobstore.TriggerUpgrade
	case op.Operation == messages.OpRestart:
		e.Trigger = jobstore.TriggerRestart
	}
	if r := op.Request; r != nil && r.Savepoint != nil && r.Savepoint.Format != "" {
		e.Format = r.Savepoint.Format
	}
	switch {
	case op.Location != "" && op.Result != ops.Failed:
		e.Path, e.Result = op.Location, ops.Completed
	case op.Result == ops.Failed:
		e.Result = ops.Failed
	default:
		return
	}
	added, err := t.store.AddSavepoint(ctx, j.Key, e)
	if err != nil || !added {
		if err != nil && ctx.Err() == nil {
			t.log.Warn("recording a savepoint in the history", "job", j.Key, "error", err.Error())
		}
		return
	}
	dropped, err := t.store.TrimSavepoints(ctx, j.Key, t.cfg.SavepointsMaxCount, t.cfg.SavepointsMaxAge, t.now())
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("applying the savepoint retention", "job", j.Key, "error", err.Error())
		}
		return
	}
	for _, sp := range dropped {
		if sp.Path == "" || sp.Result != ops.Completed || j.RestEndpoint == "" {
			continue
		}
		// Flink disposes asynchronously; a failure leaves files, not a
		// wrong history.
		if _, err := t.opFlink.DisposeSavepoint(ctx, j.RestEndpoint, sp.Path); err != nil && ctx.Err() == nil {
			t.log.Warn("disposing a savepoint past retention", "job", j.Key, "error", truncate(err.Error(), 1024))
		}
		t.m.savepointsDisposed.Inc()
	}
}

// forgetDisposed removes the savepoint a completed dispose operation
// disposed of from the job's history: it no longer exists, so it is
// neither listed nor restored from (resume) nor disposed of again.
func (t *Tracker) forgetDisposed(ctx context.Context, j *jobstore.Job, op ops.Op) error {
	if op.Operation != messages.OpDispose || op.Phase != ops.Done || op.Result != ops.Completed ||
		op.Request == nil || op.Request.SavepointPath == "" {
		return nil
	}
	_, err := t.store.RemoveSavepoint(ctx, j.Key, op.Request.SavepointPath)
	return err
}

// foldOps applies finished rounds to the tracked jobs and decides each
// again (the state its operation shows), into updates.
func (t *Tracker) foldOps(updates map[string]*jobstore.Update, now time.Time) {
	reindex := false
	defer func() {
		if reindex {
			t.index()
		}
	}()
	for {
		var d opDone
		select {
		case d = <-t.opResults:
		default:
			return
		}
		delete(t.opBusy, d.key)
		if d.stepped {
			select {
			case t.kick <- struct{}{}:
			default:
			}
		}
		if d.slot > 0 {
			t.periodicSlot[d.key] = d.slot
		}
		j := t.jobs[d.key]
		if j == nil || !d.set {
			continue
		}
		if d.job != nil && d.job.Version >= j.Version && t.owned[d.job.Shard] {
			reindex = reindex || d.job.RestEndpoint != j.RestEndpoint
			t.jobs[d.key], j = d.job, d.job
		}
		j.Op = d.next
		t.decide(j, updateOf(updates, j), state.REST{Outcome: state.RESTNotPolled}, now)
		if d.loaded && d.next != nil && d.next.Phase != ops.Done {
			t.opsSoon = true // its first round now, not an interval later
		}
	}
}
