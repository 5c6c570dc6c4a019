package track

import (
	"context"
	"errors"
	"fmt"

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
// keyed by the job; those of no hand-over are ignored. A failure that
// arrives before the track worker recorded the hand-over (its Deploy
// phase) is returned to be retried.
func (h *ControlHandler) HandleDeployFailed(ctx context.Context, df *messages.DeployFailed) error {
	key := df.JobKey()
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
