package ops

import (
	"fmt"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Action is what the loop does in the round after a decision.
type Action string

const (
	// None: nothing (the operation is done, or waits for nothing).
	None Action = ""
	// Trigger: start the Flink operation with Op.TriggerID (stop with a
	// savepoint, savepoint, cancel, disposal). Repeating it is harmless:
	// Flink answers a known trigger id with the existing operation.
	Trigger Action = "trigger"
	// Poll: read the operation's status (GET
	// /jobs/{id}/savepoints/{triggerId}, the disposal's status, or the
	// job's state for a cancel).
	Poll Action = "poll"
	// Clean: delete the cluster's Kubernetes objects (the JobManager
	// Deployment, its owned objects follow, and the HA ConfigMaps by
	// label); repeating it is harmless.
	Clean Action = "clean"
	// Redeploy: hand the job's request to the submit worker again (resume,
	// restart), or an upgrade's new request.
	Redeploy Action = "redeploy"
)

// OutcomeKind is what the last round's Flink call or action answered.
type OutcomeKind string

const (
	// NoCall: nothing was called last round (the first round, or a round
	// the loop skipped).
	NoCall OutcomeKind = ""
	// Accepted: Flink accepted the trigger (202, or 200 with a trigger id),
	// or the redeploy message was published.
	Accepted OutcomeKind = "accepted"
	// InProgress: the operation is running.
	InProgress OutcomeKind = "in_progress"
	// Succeeded: the operation completed; Location is the savepoint's
	// path when it took one.
	Succeeded OutcomeKind = "succeeded"
	// FlinkFailed: the operation completed with a failure cause, or Flink
	// refused the trigger with a 4xx: Message says why.
	FlinkFailed OutcomeKind = "failed"
	// NotFound: Flink does not know the trigger id (a JobManager that
	// restarted, an expired operation cache): trigger again, same id.
	NotFound OutcomeKind = "not_found"
	// Unavailable: the JobManager did not answer (refused, timeout, 5xx).
	Unavailable OutcomeKind = "unavailable"
	// Published: the redeploy (resume, upgrade) went to the submit
	// worker's topic.
	Published OutcomeKind = "published"
	// Refused: the redeploy cannot be published (the stored run does not
	// validate); Message says why.
	Refused OutcomeKind = "refused"
)

// Outcome is the answer to the last round's action.
type Outcome struct {
	Kind     OutcomeKind
	Location string
	Message  string
}

// Observation is what a round knows about the operation's job.
type Observation struct {
	// Time is the round's time.
	Time time.Time
	// Outcome answers the action the previous decision asked for.
	Outcome Outcome
	// JobState is the job's state in Flink from this round's REST poll,
	// "" when unknown. A cancel is done when it is CANCELED; a job that
	// ended otherwise ends a pending savepoint or cancel.
	JobState messages.JobState
	// ObjectsLeft counts the cluster's Kubernetes objects still present
	// (Deployment, HA ConfigMaps, TaskManager pods); negative when
	// Kubernetes cannot tell.
	ObjectsLeft int
}

// Step is a change users should see, published on the status topic.
type Step struct {
	// Reason is a snake_case code: savepoint_completed, savepoint_failed,
	// suspended, suspend_failed, canceled, cancel_failed, deleted,
	// savepoint_disposed, dispose_failed, resumed, resume_failed,
	// operation_timeout.
	Reason string
	// Message is Flink's cause of a failure.
	Message string
	// SavepointPath is the savepoint the step produced.
	SavepointPath string
}

// Decision is the operation after a round, what to do next and the step
// to publish, if any.
type Decision struct {
	Op     Op
	Action Action
	Step   *Step
}

// Reasons of a failed operation (Op.Reason) that Flink gives none for.
const (
	ReasonTimeout     = "operation_timeout"
	ReasonJobEnded    = "job_ended"
	ReasonUnreachable = "flink_unreachable"
	// ReasonCleanupFailed: the cluster's Kubernetes objects were still
	// there CleanupGrace after the deadline (the savepoint, if any, was
	// taken and is kept).
	ReasonCleanupFailed = "cleanup_failed"
	// ReasonDeployFailed: the submit worker could not deploy an upgrade's
	// or restart's new run after the old one was stopped and its cluster
	// removed (Op.Undeployed); the message starts with the deploy
	// failure's own reason.
	ReasonDeployFailed = "deploy_failed"
)

// CleanupGrace is how long past its deadline an operation goes on
// removing the cluster before it fails: Flink finished its part, so the
// cleanup gets its own time rather than none.
const CleanupGrace = 10 * time.Minute

// Next decides a round of op: from the outcome of the last action, the
// next phase, action and step. Deciding again on the same observation
// after applying the decision keeps the phase (a Done operation stays
// done, with no action and no step).
func Next(op Op, obs Observation) Decision {
	if op.Phase == Done {
		return Decision{Op: op}
	}
	// Cleanup has its own grace; Deploy is a publish to Kafka, retried
	// like the outbox until it succeeds.
	if !op.Deadline.IsZero() && !obs.Time.Before(op.Deadline) && op.Phase != Cleanup && op.Phase != Deploy {
		reason := ReasonTimeout
		if obs.Outcome.Kind == Unavailable {
			reason = ReasonUnreachable
		}
		return fail(op, reason, "the operation did not finish before its deadline ("+op.Deadline.UTC().Format(time.RFC3339)+")")
	}
	switch op.Phase {
	case Requested:
		return requested(op, obs)
	case Triggered:
		return triggered(op, obs)
	case Deploy:
		if obs.Outcome.Kind == Published {
			op.Phase, op.Result = Done, Completed
			return Decision{Op: op, Step: &Step{Reason: CompletedReason(op), SavepointPath: op.Location}}
		}
		if obs.Outcome.Kind == Refused {
			return fail(op, failedReason(op), obs.Outcome.Message)
		}
		return Decision{Op: op, Action: Redeploy}
	case Cleanup:
		switch {
		case obs.ObjectsLeft == 0:
			return done(op)
		case !op.Deadline.IsZero() && !obs.Time.Before(op.Deadline.Add(CleanupGrace)):
			return fail(op, ReasonCleanupFailed, fmt.Sprintf("%d objects of the cluster are still there %s after the operation's deadline; "+
				"check the track worker's RBAC (delete, deletecollection) and finalizers", obs.ObjectsLeft, CleanupGrace))
		}
		return Decision{Op: op, Action: Clean}
	}
	// An unknown phase: start over (the trigger id makes it harmless).
	op.Phase = Requested
	return requested(op, obs)
}

// first is the action that starts op.
func first(op Op) Action {
	switch {
	case op.Operation == messages.OpResume:
		return Redeploy
	case !op.Flink():
		return Clean
	}
	return Trigger
}

func requested(op Op, obs Observation) Decision {
	if op.Operation == messages.OpRestart && !op.Flink() && !op.cleansUp() {
		return done(op) // a session job that ended: nothing to stop, nothing to remove
	}
	if op.cancels() && obs.JobState.IsGloballyTerminal() {
		return afterFlink(op, obs, "") // nothing left to cancel
	}
	if jobEndedFirst(op, obs) {
		return fail(op, ReasonJobEnded, "the job became "+string(obs.JobState)+" before the savepoint was taken")
	}
	switch obs.Outcome.Kind {
	case Published:
		if op.Operation == messages.OpResume {
			return done(op)
		}
	case Refused:
		if op.Operation == messages.OpResume {
			return fail(op, failedReason(op), obs.Outcome.Message)
		}
	case Accepted, InProgress:
		switch {
		case op.Operation == messages.OpResume:
			return done(op)
		case !op.Flink():
			return afterFlink(op, obs, "")
		}
		op.Phase = Triggered
		return Decision{Op: op, Action: Poll}
	case Succeeded:
		if !op.Flink() {
			return afterFlink(op, obs, "")
		}
		op.Phase = Triggered
		return triggered(op, obs)
	case FlinkFailed:
		return fail(op, failedReason(op), obs.Outcome.Message)
	}
	return Decision{Op: op, Action: first(op)} // not called yet, unreachable, not found: (re)trigger
}

func triggered(op Op, obs Observation) Decision {
	if op.cancels() && obs.JobState.IsGloballyTerminal() {
		// Cancelled, or ended on its own: nothing left to cancel. The
		// outcome's location is the latest checkpoint, for an operation
		// that restores from it.
		return afterFlink(op, obs, obs.Outcome.Location)
	}
	if jobEndedFirst(op, obs) {
		return fail(op, ReasonJobEnded, "the job became "+string(obs.JobState)+" before the savepoint completed")
	}
	switch obs.Outcome.Kind {
	case Succeeded:
		return afterFlink(op, obs, obs.Outcome.Location)
	case FlinkFailed:
		return fail(op, failedReason(op), obs.Outcome.Message)
	case NotFound:
		op.Phase = Requested
		return Decision{Op: op, Action: Trigger}
	}
	return Decision{Op: op, Action: Poll}
}

// jobEndedFirst reports whether the job ended before op's savepoint could
// complete: FAILED or CANCELED (FINISHED too for a plain savepoint; a
// stop-with-savepoint ends the job FINISHED on success, so a suspend keeps
// polling for its result), with no answer from Flink about the operation.
func jobEndedFirst(op Op, obs Observation) bool {
	if !op.savepoint() || obs.Outcome.Kind == Succeeded || obs.Outcome.Kind == FlinkFailed || obs.Outcome.Kind == InProgress {
		return false
	}
	switch obs.JobState {
	case messages.StateFailed, messages.StateCanceled:
		return true
	case messages.StateFinished:
		return op.Operation == messages.OpSavepoint
	}
	return false
}

// afterFlink moves an operation Flink finished (or that needs nothing of
// Flink) to cleanup, or done when there is nothing to clean.
func afterFlink(op Op, obs Observation, location string) Decision {
	if location != "" || !op.Redeploys() {
		op.Location = location // an upgrade or restart keeps the restore point chosen when it was recorded
	}
	if op.cleansUp() && obs.ObjectsLeft != 0 {
		op.Phase = Cleanup
		d := Decision{Op: op, Action: Clean}
		if op.savepoint() {
			d.Step = &Step{Reason: "savepoint_completed", SavepointPath: location}
		}
		return d
	}
	return done(op)
}

func done(op Op) Decision {
	if op.Redeploys() && op.Phase != Deploy {
		op.Phase = Deploy // the old run is stopped, its cluster gone: deploy the new run
		return Decision{Op: op, Action: Redeploy}
	}
	op.Phase, op.Result = Done, Completed
	return Decision{Op: op, Step: &Step{Reason: CompletedReason(op), SavepointPath: op.Location}}
}

func fail(op Op, reason, msg string) Decision {
	op.Phase, op.Result, op.Reason, op.Message = Done, Failed, reason, msg
	return Decision{Op: op, Step: &Step{Reason: reason, Message: msg}}
}

// CompletedReason is the reason of the step that completes op.
func CompletedReason(op Op) string {
	switch op.Operation {
	case messages.OpSuspend:
		return "suspended"
	case messages.OpCancel:
		return "canceled"
	case messages.OpSavepoint:
		return "savepoint_completed"
	case messages.OpDelete:
		return "deleted"
	case messages.OpDispose:
		return "savepoint_disposed"
	case messages.OpResume:
		return "resumed"
	case messages.OpUpgrade:
		return "upgraded"
	case messages.OpRestart:
		return "restarted"
	}
	return "completed"
}

func failedReason(op Op) string {
	switch op.Operation {
	case messages.OpSuspend:
		return "suspend_failed"
	case messages.OpCancel:
		return "cancel_failed"
	case messages.OpSavepoint:
		return "savepoint_failed"
	case messages.OpDelete:
		return "delete_failed"
	case messages.OpDispose:
		return "dispose_failed"
	case messages.OpResume:
		return "resume_failed"
	case messages.OpUpgrade:
		return "upgrade_failed"
	case messages.OpRestart:
		return "restart_failed"
	}
	return "operation_failed"
}
