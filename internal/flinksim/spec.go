package flinksim

import "time"

// Step is one stage of a job's Script: the job is in State for For, then
// moves to the next step. A zero For means "until told otherwise": later
// steps are never reached. A globally terminal State ends the script.
type Step struct {
	// State is the job state during this step.
	State JobState
	// For is how long the step lasts; zero means forever.
	For time.Duration
	// Cause is the root exception recorded when the step enters FAILING,
	// RESTARTING or FAILED (a default cause is used when empty).
	Cause string
}

// Script is the sequence of states a job goes through, e.g.
//
//	Script{{State: Initializing, For: 2 * time.Second}, {State: Running}}
type Script []Step

// DefaultScript is the lifecycle of a job whose JobSpec has no Script:
// INITIALIZING for 1s, CREATED for 1s, then RUNNING.
var DefaultScript = Script{
	{State: Initializing, For: time.Second},
	{State: Created, For: time.Second},
	{State: Running},
}

// CheckpointSpec drives a job's periodic checkpoints while it is RUNNING.
type CheckpointSpec struct {
	// Interval between checkpoint triggers; zero disables checkpointing
	// (Flink then reports an interval of 9223372036854775807).
	Interval time.Duration
	// Duration of each checkpoint; zero means Interval/10 (at least 1ms).
	Duration time.Duration
	// FailEvery makes every k-th checkpoint (by id) fail; zero never.
	FailEvery int
	// FailureMessage is the failure_message of failed checkpoints.
	FailureMessage string
	// StateSize is the state size in bytes of a completed checkpoint
	// (default 1 MiB); each checkpoint adds 1 KiB so the summary varies.
	StateSize int64
	// HistorySize is how many finished checkpoints the history keeps
	// (Flink's web.checkpoints.history, default 10).
	HistorySize int
}

// SavepointSpec drives savepoints and stop-with-savepoint of a job.
type SavepointSpec struct {
	// Duration of a savepoint from trigger to completion (default 1s).
	Duration time.Duration
	// Fail makes every savepoint fail with FailureCause.
	Fail bool
	// FailureCause is the failure's exception text.
	FailureCause string
}

// JobSpec describes a job: pre-seeded with ClusterOptions.Jobs or
// Cluster.AddJob, or submitted through POST /jars/{jarid}/run.
type JobSpec struct {
	// ID is the 32-hex job id; empty means generated.
	ID string
	// Name is the job name (default "Flink Streaming Job").
	Name string
	// Parallelism of every vertex (default 1).
	Parallelism int
	// Vertices is the number of job vertices (default 2).
	Vertices int
	// Script is the lifecycle (default DefaultScript).
	Script Script
	// Checkpoints configures periodic checkpoints.
	Checkpoints CheckpointSpec
	// Savepoints configures savepoints and stop-with-savepoint.
	Savepoints SavepointSpec
	// CancelFor is how long a cancelled job stays CANCELLING (default 1s).
	CancelFor time.Duration
	// RestoredFrom is the savepoint the job was started from; it shows as
	// latest.restored and counts.restored in /jobs/{jobid}/checkpoints.
	RestoredFrom string
}

func (s JobSpec) withDefaults() JobSpec {
	if s.Name == "" {
		s.Name = "Flink Streaming Job"
	}
	if s.Parallelism <= 0 {
		s.Parallelism = 1
	}
	if s.Vertices <= 0 {
		s.Vertices = 2
	}
	if len(s.Script) == 0 {
		s.Script = DefaultScript
	}
	s.Script = append(Script(nil), s.Script...)
	cp := &s.Checkpoints
	if cp.Interval > 0 && cp.Duration <= 0 {
		cp.Duration = max(cp.Interval/10, time.Millisecond)
	}
	if cp.FailureMessage == "" {
		cp.FailureMessage = "org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint expired before completing."
	}
	if cp.StateSize <= 0 {
		cp.StateSize = 1 << 20
	}
	if cp.HistorySize <= 0 {
		cp.HistorySize = 10
	}
	if s.Savepoints.Duration <= 0 {
		s.Savepoints.Duration = time.Second
	}
	if s.Savepoints.FailureCause == "" {
		s.Savepoints.FailureCause = "org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint expired before completing."
	}
	if s.CancelFor <= 0 {
		s.CancelFor = time.Second
	}
	return s
}

// JarRunRequest is the body of POST /jars/{jarid}/run (Flink's
// JarRunRequestBody) merged with its query parameters, as the simulator
// received it.
type JarRunRequest struct {
	// JarID is the jar the request ran (from the path).
	JarID string `json:"-"`
	// EntryClass is the program's main class (entryClass or entry-class).
	EntryClass string `json:"entryClass,omitempty"`
	// ProgramArgs is the deprecated single-string argument list.
	ProgramArgs string `json:"programArgs,omitempty"`
	// ProgramArgsList are the program arguments (programArgsList or the
	// comma-separated programArg query parameter).
	ProgramArgsList []string `json:"programArgsList,omitempty"`
	// Parallelism is the requested default parallelism.
	Parallelism *int `json:"parallelism,omitempty"`
	// JobID is the client-chosen job id (lower-cased).
	JobID string `json:"jobId,omitempty"`
	// AllowNonRestoredState lets a restore skip state without an operator.
	AllowNonRestoredState *bool `json:"allowNonRestoredState,omitempty"`
	// SavepointPath is the savepoint to restore from.
	SavepointPath string `json:"savepointPath,omitempty"`
	// RestoreMode is CLAIM, NO_CLAIM or LEGACY.
	RestoreMode string `json:"restoreMode,omitempty"`
	// FlinkConfiguration are per-job configuration options.
	FlinkConfiguration map[string]string `json:"flinkConfiguration,omitempty"`
}
