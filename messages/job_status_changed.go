package messages

import "time"

// JobStatusChanged reports that the track worker saw a job (or session
// cluster) move to a new state. It goes to the Status topic, for alerting.
type JobStatusChanged struct {
	// RequestID is the RequestID of the submission that started the job.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is SubmitRequested.Job.
	Job JobRef `json:"job"`
	// Mode is SubmitRequested.Mode.
	Mode Mode `json:"mode"`
	// FlinkJobID is the job's Flink id, 32 lowercase hex characters.
	// Required in modes application and session; empty in mode
	// session-cluster.
	FlinkJobID string `json:"flink_job_id,omitempty" jsonschema:"pattern=^[0-9a-f]{32}$"`
	// From is the previous state; empty for the first state observed.
	From JobState `json:"from,omitempty"`
	// To is the new state. Required; different from From.
	To JobState `json:"to"`
	// Reason is a snake_case machine code saying why, when known
	// (image_pull_failed, crash_loop, ...).
	Reason string `json:"reason,omitempty" jsonschema:"maxLength=64,pattern=^[a-z][a-z0-9_]*$"`
	// Message explains the change to a person (a Flink failure cause, a
	// Kubernetes event), at most 32 KiB.
	Message string `json:"message,omitempty"`
	// WebUIURL is the Flink web UI as people reach it, when known.
	WebUIURL string `json:"web_ui_url,omitempty" jsonschema:"maxLength=2048"`
	// Labels are SubmitRequested.Labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the new state was observed (RFC 3339).
	Time time.Time `json:"time"`
	// SavepointPath is the savepoint a day-2 operation's step produced or
	// used (suspended, savepoint_completed, restored from), when there is
	// one. At most 4096 characters.
	SavepointPath string `json:"savepoint_path,omitempty" jsonschema:"maxLength=4096"`
	// Operation names the day-2 operation (ControlRequested) this event is
	// a step of, when it is one: the job entering SUSPENDING, SUSPENDED,
	// back to RUNNING after a savepoint, or a step that changes no state
	// (a savepoint disposed, a resume handed to the submit worker), which
	// alone may have From equal to To.
	Operation *OperationRef `json:"operation,omitempty"`
}

// OperationRef names the day-2 operation a status event belongs to.
type OperationRef struct {
	// RequestID is the ControlRequested's request id (RequestID of the
	// event is the run's: the submit request that started the job).
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Operation is the ControlRequested's operation.
	Operation Operation `json:"operation"`
	// Status is where the operation is: requested (recorded, Flink not yet
	// asked), in_progress, completed or failed.
	Status OperationStatus `json:"status"`
}

// OperationStatus is where an operation is, as status events tell it.
type OperationStatus string

// Operation statuses.
const (
	OperationRequested  OperationStatus = "requested"
	OperationInProgress OperationStatus = "in_progress"
	OperationCompleted  OperationStatus = "completed"
	OperationFailed     OperationStatus = "failed"
)

// EventType returns TypeJobStatusChanged.
func (e *JobStatusChanged) EventType() string { return TypeJobStatusChanged }

// JobKey returns e.Job.Key().
func (e *JobStatusChanged) JobKey() string { return e.Job.Key() }

func (e *JobStatusChanged) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem. States are
// checked for form (UPPER_SNAKE_CASE), not against JobStates, so that a
// state added by a newer tracker does not break older consumers.
func (e *JobStatusChanged) Validate() error {
	var v validator
	checkCommon(&v, e.RequestID, e.Job, e.Mode, e.Time, e.Labels)
	checkJobIDForMode(&v, "flink_job_id", e.FlinkJobID, e.Mode)
	checkJobState(&v, "from", e.From, false)
	checkJobState(&v, "to", e.To, true)
	if e.To != "" && e.To == e.From && e.Operation == nil {
		v.addf("to", "must differ from from (unless the event is an operation's step)")
	}
	if e.Operation != nil {
		e.Operation.validate(&v, "operation")
	}
	checkReasonCode(&v, "reason", e.Reason, false)
	checkMessage(&v, "message", e.Message, false)
	checkHTTPURL(&v, "web_ui_url", e.WebUIURL, maxURLLength)
	if e.SavepointPath != "" {
		checkStatePath(&v, "savepoint_path", e.SavepointPath)
	}
	return v.result()
}

func checkJobState(v *validator, p string, s JobState, required bool) {
	switch {
	case s == "":
		if required {
			v.addf(p, "required")
		}
	case len(s) > 64 || !jobStatePattern.MatchString(string(s)):
		v.addf(p, "must be an UPPER_SNAKE_CASE job state such as RUNNING, got %q", s)
	}
}

func (o *OperationRef) validate(v *validator, p string) {
	checkRequestID(v, at(p, "request_id"), o.RequestID)
	if !o.Operation.IsKnown() {
		v.addf(at(p, "operation"), "must be one of cancel, suspend, resume, savepoint, delete, dispose, got %q", clip(string(o.Operation)))
	}
	switch o.Status {
	case OperationRequested, OperationInProgress, OperationCompleted, OperationFailed:
	default:
		v.addf(at(p, "status"), "must be one of requested, in_progress, completed, failed, got %q", clip(string(o.Status)))
	}
}
