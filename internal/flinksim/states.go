package flinksim

// JobState is a Flink job status as reported by the REST API (JobStatus).
type JobState string

// The job states of Flink 1.19, in the order of Flink's JobStatus enum.
const (
	Initializing JobState = "INITIALIZING"
	Created      JobState = "CREATED"
	Running      JobState = "RUNNING"
	Failing      JobState = "FAILING"
	Failed       JobState = "FAILED"
	Cancelling   JobState = "CANCELLING"
	Canceled     JobState = "CANCELED"
	Finished     JobState = "FINISHED"
	Restarting   JobState = "RESTARTING"
	Suspended    JobState = "SUSPENDED"
	Reconciling  JobState = "RECONCILING"
)

// jobStates lists every JobState in Flink's enum order; its index is the
// state's slot in per-state arrays.
var jobStates = [...]JobState{
	Initializing, Created, Running, Failing, Failed, Cancelling,
	Canceled, Finished, Restarting, Suspended, Reconciling,
}

// JobStates returns every job state in Flink's enum order.
func JobStates() []JobState { return append([]JobState(nil), jobStates[:]...) }

// IsGloballyTerminal reports whether s ends the job for good (FAILED,
// CANCELED, FINISHED). SUSPENDED is terminal only locally: another
// JobManager may resume the job.
func (s JobState) IsGloballyTerminal() bool {
	return s == Failed || s == Canceled || s == Finished
}

// Valid reports whether s is one of Flink's job states.
func (s JobState) Valid() bool { return s.index() >= 0 }

func (s JobState) index() int {
	for i, v := range jobStates {
		if v == s {
			return i
		}
	}
	return -1
}

// execState is a Flink ExecutionState (the state of one task).
type execState int

// Flink's ExecutionState enum, in order.
const (
	exCreated execState = iota
	exScheduled
	exDeploying
	exRunning
	exFinished
	exCanceling
	exCanceled
	exFailed
	exReconciling
	exInitializing
	numExecStates
)

var execStateNames = [numExecStates]string{
	"CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED",
	"CANCELING", "CANCELED", "FAILED", "RECONCILING", "INITIALIZING",
}

// taskState is the state the simulator gives every task of a job in state
// s; INITIALIZING jobs have no tasks yet (ok is false).
func taskState(s JobState) (st execState, ok bool) {
	switch s {
	case Initializing:
		return 0, false
	case Created:
		return exCreated, true
	case Running:
		return exRunning, true
	case Failing, Cancelling:
		return exCanceling, true
	case Failed:
		return exFailed, true
	case Canceled, Restarting, Suspended:
		return exCanceled, true
	case Finished:
		return exFinished, true
	case Reconciling:
		return exReconciling, true
	}
	return 0, false
}
