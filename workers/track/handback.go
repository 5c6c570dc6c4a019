package track

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// HandleDeployFailed ends an upgrade or restart whose new run the submit
// worker could not deploy (docs/upgrades.md, "A new run that fails to
// deploy"). The operation had completed its part (the old run stopped,
// its cluster removed, the new run handed over) and the job showed
// UPGRADING or REDEPLOYING until the new run registered, which it never
// will: the operation becomes failed (ops.ReasonDeployFailed, the message
// starting with the deploy failure's reason) and the job DEPLOY_FAILED.
//
// The submit worker publishes every deploy failure on the control topic,
// keyed by the job; those of no hand-over are ignored. A move's
// (moved_from) fails the moved job's operation: its record, which ended
// TERMINATED (moved), becomes DEPLOY_FAILED and can be restarted in its
// old place. A failure that
// arrives before the track worker recorded the hand-over (its Deploy
// phase) is returned to be retried.
func (h *ControlHandler) HandleDeployFailed(ctx context.Context, df *messages.DeployFailed) error {
	key := df.JobKey()
	if df.MovedFrom != nil {
		key = df.MovedFrom.Key() // a move's: the operation is the moved job's
	}
	j, err := h.Store.Get(ctx, key)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		return nil // a job that never ran
	case err != nil:
		return fmt.Errorf("reading job %s: %w", key, err)
	}
	op := j.Op
	if op == nil || !op.Redeploys() || op.RequestID != df.RequestID || j.RequestID == df.RequestID {
		return nil // not a hand-over's run, or one that registered since
	}
	switch {
	case op.Phase == ops.Deploy:
		return fmt.Errorf("the deploy of %s failed before its hand-over was recorded: retried", df.RequestID)
	case op.Phase != ops.Done || op.Result != ops.Completed || op.Run != j.RequestID:
		return nil // not handed over, or failed already (a redelivery)
	}
	next := *op
	next.Result, next.Reason, next.Undeployed = ops.Failed, ops.ReasonDeployFailed, true
	next.Message = truncate(fmt.Sprintf("%s: the new run (request %s) was not deployed: %s; the old run's cluster was removed: "+
		"submit a corrected request, or restart the job to deploy the old run again", df.Reason, df.RequestID, df.Message), 4096)
	ok, err := h.Store.UpdateOp(ctx, key, op.RequestID, ops.Done, next, nil)
	if err != nil || !ok {
		return err // !ok: another operation was recorded since
	}
	// The shard owner reads the job again and shows DEPLOY_FAILED.
	return h.Store.MarkOp(ctx, key)
}

// HandBackGrace is how long past its operation's deadline a handed-over
// run may take to register before the operation fails: the deploy failed
// event is the usual way a failed hand-back ends, this bound the one for
// a new run the submit worker never answered for (its retries exhausted,
// the image built event dead-lettered).
const HandBackGrace = ops.CleanupGrace

// handBackOverdue reports whether j's run was handed over by an upgrade
// or restart whose new run has not registered HandBackGrace after the
// operation's deadline.
func handBackOverdue(j *jobstore.Job, now time.Time) bool {
	return handedOver(j) && !j.Op.Deadline.IsZero() && !now.Before(j.Op.Deadline.Add(HandBackGrace))
}

// failHandBack fails an overdue hand-over (handBackOverdue): the job
// becomes DEPLOY_FAILED with reason deploy_failed. A new run that
// registers later is tracked as any other.
func (t *Tracker) failHandBack(ctx context.Context, r opRound) opDone {
	j, op := &r.job, *r.job.Op
	next := op
	next.Result, next.Reason, next.Undeployed = ops.Failed, ops.ReasonDeployFailed, true
	next.Message = fmt.Sprintf("the new run (request %s) did not register by %s, %s after the operation's deadline: "+
		"the submit worker did not deploy it (see its logs and dead-letter topic); the old run's cluster was removed: "+
		"restart the job to deploy the old run again, or submit a corrected request",
		op.RequestID, op.Deadline.Add(HandBackGrace).UTC().Format(time.RFC3339), HandBackGrace)
	ok, err := t.store.UpdateOp(ctx, j.Key, op.RequestID, ops.Done, next, nil)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("failing an overdue hand-over", "job", j.Key, "request_id", op.RequestID, "error", err.Error())
		}
		return opDone{key: j.Key}
	}
	if !ok {
		return t.loadOp(ctx, j.Key)
	}
	t.m.opSteps.WithLabelValues(string(op.Operation), ops.ReasonDeployFailed).Inc()
	return opDone{key: j.Key, set: true, next: &next}
}
