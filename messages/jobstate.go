package messages

import (
	"regexp"
	"slices"
)

// JobState is the state of a Flink job as flinkferry reports it: Flink's
// own job states (from the REST API), plus StreamPark-style states for what
// Flink cannot report, plus DEPLOY_FAILED.
type JobState string

// Flink's job states, as returned by GET /jobs/overview.
const (
	// StateInitializing: the JobManager received the job and is setting it up.
	StateInitializing JobState = "INITIALIZING"
	// StateCreated: the job is created, no task has started.
	StateCreated JobState = "CREATED"
	// StateRunning: some tasks are scheduled or running.
	StateRunning JobState = "RUNNING"
	// StateFailing: the job failed and waits for its tasks to stop.
	StateFailing JobState = "FAILING"
	// StateFailed: the job failed for good (restart strategy exhausted). Terminal.
	StateFailed JobState = "FAILED"
	// StateCancelling: the job is being cancelled.
	StateCancelling JobState = "CANCELLING"
	// StateCanceled: the job was cancelled. Terminal.
	StateCanceled JobState = "CANCELED"
	// StateFinished: every task finished (a bounded job). Terminal.
	StateFinished JobState = "FINISHED"
	// StateRestarting: the job is restarting after a failure.
	StateRestarting JobState = "RESTARTING"
	// StateSuspended: the JobManager lost leadership; another may resume the job.
	StateSuspended JobState = "SUSPENDED"
	// StateReconciling: a new JobManager is reconnecting to running tasks.
	StateReconciling JobState = "RECONCILING"
)

// States flinkferry adds, after StreamPark's tracking model.
const (
	// StateStarting: submitted, no JobManager yet.
	StateStarting JobState = "STARTING"
	// StateK8sInitializing: the JobManager Deployment exists and is healthy
	// but the REST endpoint does not answer yet (pulling images, starting).
	StateK8sInitializing JobState = "K8S_INITIALIZING"
	// StateSilent: neither Flink nor Kubernetes gave a conclusive answer
	// (an API error means unknown, never gone).
	StateSilent JobState = "SILENT"
	// StateLost: silent for longer than the tracker's grace period.
	StateLost JobState = "LOST"
	// StateTerminated: the cluster was deleted, by the user or flinkferry.
	StateTerminated JobState = "TERMINATED"
	// StateDeployFailed: the Kubernetes objects could not be created or the
	// JobManager cannot start (ImagePullBackOff, CrashLoopBackOff, ...).
	StateDeployFailed JobState = "DEPLOY_FAILED"
)

// States a day-2 operation in flight shows over the job (docs/day2.md):
// the job underneath keeps running until Flink acts. A cancel in flight is
// Flink's CANCELLING; a completed suspend is SUSPENDED, a completed
// cancel CANCELED, a completed delete TERMINATED.
const (
	// StateSuspending: a suspend (stop with a savepoint) is in flight.
	StateSuspending JobState = "SUSPENDING"
	// StateSavepointing: a savepoint of the running job is in flight.
	StateSavepointing JobState = "SAVEPOINTING"
	// StateDeleting: the job's cluster is being deleted.
	StateDeleting JobState = "DELETING"
	// StateUpgrading: the job's run is being replaced by a new request
	// (stopped with a savepoint or cancelled, its cluster removed, the new
	// one deployed); the new run then starts as any other.
	StateUpgrading JobState = "UPGRADING"
	// StateRedeploying: a restart is in flight: the job's run is stopped
	// (with a savepoint or cancelled), an application cluster removed, and
	// the same request deployed again under the restart's request id; the
	// new run then starts as any other. (Flink's RESTARTING is a job
	// restarting in its cluster after a failure.)
	StateRedeploying JobState = "REDEPLOYING"
)

// jobStatePattern is the form every state, known or future, must have.
var jobStatePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// JobStates returns every known JobState: Flink's first, then flinkferry's.
func JobStates() []JobState {
	return []JobState{
		StateInitializing, StateCreated, StateRunning, StateFailing, StateFailed,
		StateCancelling, StateCanceled, StateFinished, StateRestarting,
		StateSuspended, StateReconciling,
		StateStarting, StateK8sInitializing, StateSilent, StateLost,
		StateTerminated, StateDeployFailed,
		StateSuspending, StateSavepointing, StateDeleting, StateUpgrading, StateRedeploying,
	}
}

// IsKnown reports whether s is one of JobStates. Consumers must expect
// unknown states from newer trackers: JobStatusChanged.Validate accepts any
// UPPER_SNAKE_CASE state.
func (s JobState) IsKnown() bool { return slices.Contains(JobStates(), s) }

// IsTerminal reports whether s ends polling: Flink's globally terminal
// states (FAILED, CANCELED, FINISHED), TERMINATED and DEPLOY_FAILED. A job
// leaves the first four only by being submitted again; DEPLOY_FAILED is
// left when Kubernetes recovers (the image pull succeeds after all, see
// docs/tracking.md). SUSPENDED and LOST are not terminal: the job can come
// back.
func (s JobState) IsTerminal() bool {
	switch s {
	case StateFailed, StateCanceled, StateFinished, StateTerminated, StateDeployFailed:
		return true
	}
	return false
}

// IsGloballyTerminal reports whether Flink ends the job for good in state
// s: FAILED, CANCELED or FINISHED. SUSPENDED is terminal for one
// JobManager only (another may resume the job). Unlike IsTerminal it
// ignores the states flinkferry adds.
func (s JobState) IsGloballyTerminal() bool {
	return s == StateFailed || s == StateCanceled || s == StateFinished
}
