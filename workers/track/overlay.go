package track

import (
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// The job's state and its operation (docs/day2.md, "Precedence"). The
// state machine (state.Decide) decides the job from Flink and Kubernetes;
// the operation then decides what users see:
//
//  1. An operation of an earlier run of the job decides nothing.
//  2. A resume keeps the job as it is (SUSPENDED, CANCELED...) until its
//     new run is registered; the new run is then decided as any other.
//  3. While an operation is in flight the job shows SUSPENDING,
//     CANCELLING, SAVEPOINTING or DELETING; Flink's FAILED still wins (the
//     operation then fails, job_ended). An upgrade or a restart shows
//     UPGRADING or REDEPLOYING until its new run is registered.
//  4. A completed suspend, cancel or delete makes the job SUSPENDED,
//     CANCELED or TERMINATED whatever Flink and Kubernetes say next (the
//     cluster is deleted on purpose).
//  5. Otherwise (a savepoint done, a failed operation) the job is as the
//     state machine decided; leaving the state the operation showed is the
//     operation's step, with its reason (savepoint_completed,
//     savepoint_failed...).

// opStep is the operation a transition is a step of.
type opStep struct {
	requestID string
	operation messages.Operation
	path      string
}

// inFlightStates are the states only an operation in flight shows.
func inFlightState(s messages.JobState) bool {
	switch s {
	case messages.StateSuspending, messages.StateSavepointing, messages.StateDeleting, messages.StateUpgrading, messages.StateRedeploying:
		return true
	}
	return false
}

// underlyingPrev is the previous state to give the state machine: an
// operation's in-flight state hides a running job.
func underlyingPrev(s messages.JobState) messages.JobState {
	if inFlightState(s) {
		return messages.StateRunning
	}
	return s
}

// overlay applies j's operation to d, the state machine's decision for j,
// and returns the decision users see and the operation step it is, if it
// is one.
func overlay(j *jobstore.Job, d state.Decision) (state.Decision, *opStep) {
	op := j.Op
	if op == nil {
		return d, nil
	}
	step := &opStep{requestID: op.RequestID, operation: op.Operation}
	if op.Redeploys() {
		inflight := *op
		inflight.Phase = ops.Requested
		shown := inflight.JobState("") // UPGRADING or REDEPLOYING, also once handed over
		switch {
		case j.RequestID == op.RequestID: // the new run is registered
			return d, nil
		case op.Run != j.RequestID:
			return d, nil
		case op.Phase == ops.Done && op.Result == ops.Completed && movedAway(j):
			// Moved: the job is the target's now; this record ends.
			d.State, d.Reason, d.Message = messages.StateTerminated, ReasonMoved, "moved to "+op.Upgrade.Job.Key()+" (request "+op.RequestID+")"
			d.StopPolling, d.Final = true, true
			step.path = op.Location
			return d, step
		case op.Phase == ops.Done && op.Result != ops.Completed:
			if j.State == shown || (op.Undeployed && j.State == messages.StateTerminated && j.Reason == ReasonMoved) {
				d.Reason, d.Message = op.Reason, op.Message
				if op.Undeployed {
					// Its cluster was removed and the new run never came:
					// nothing runs, nothing is left to poll.
					d.State, d.StopPolling, d.Final = messages.StateDeployFailed, true, false
				}
				return d, step
			}
			return d, nil
		}
		// In flight, or handed to the submit worker: UPGRADING or
		// REDEPLOYING until the new run is registered (Flink's FAILED still
		// wins while the job runs; a job that had ended is redeployed).
		if op.Phase != ops.Done && d.State == messages.StateFailed && !op.Offline {
			return d, nil
		}
		d.State, d.Reason, d.Message = shown, string(op.Operation)+"_requested", ""
		if cause := autoRestartCause(op); cause != "" {
			d.Reason, d.Message = "auto_restart_"+cause, autoRestartMessage(j, cause)
		}
		d.StopPolling, d.Final = false, false
		return d, step
	}
	if op.Operation == messages.OpResume {
		if j.RequestID != op.RequestID { // 2: the new run is not registered yet
			d.State, d.Reason, d.Message = j.State, j.Reason, j.Message
		}
		return d, nil
	}
	if op.Run != "" && op.Run != j.RequestID { // 1
		return d, nil
	}
	if op.Phase != ops.Done { // 3
		if d.State == messages.StateFailed {
			return d, nil
		}
		st := op.JobState(d.State)
		if st == d.State && st != messages.StateCancelling {
			return d, nil
		}
		d.State, d.Reason, d.Message = st, string(op.Operation)+"_requested", ""
		return d, step
	}
	if op.Result == ops.Completed { // 4
		final := map[messages.Operation]messages.JobState{
			messages.OpSuspend: messages.StateSuspended,
			messages.OpCancel:  messages.StateCanceled,
			messages.OpDelete:  messages.StateTerminated,
		}
		if st, ok := final[op.Operation]; ok {
			d.State, d.Reason, d.Message = st, ops.CompletedReason(*op), ""
			d.StopPolling, d.Final = true, true
			step.path = op.Location
			return d, step
		}
	}
	if !opShown(j.State, op) { // 5: the job's own change
		return d, nil
	}
	if op.Result == ops.Completed {
		d.Reason, d.Message = ops.CompletedReason(*op), ""
		step.path = op.Location
	} else {
		d.Reason, d.Message = op.Reason, op.Message
	}
	return d, step
}

// opShown reports whether s is the state op showed while in flight.
func opShown(s messages.JobState, op *ops.Op) bool {
	inflight := *op
	inflight.Phase = ops.Requested
	return s != "" && s == inflight.JobState("")
}

// settled reports whether j needs no more polling because of its
// operation: a completed suspend, cancel or delete of its current run.
func settled(j *jobstore.Job) bool {
	op := j.Op
	return op != nil && op.Phase == ops.Done && op.Result == ops.Completed && op.Run == j.RequestID &&
		(op.Operation == messages.OpSuspend || op.Operation == messages.OpCancel || op.Operation == messages.OpDelete)
}
