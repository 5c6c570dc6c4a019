package messages

import "time"

// ControlRefused reports a ControlRequested that the track worker refused
// before anything was triggered, published on the Status topic (the
// request itself goes to the dead-letter topic with the same reason). A
// refusal changes nothing: the job, if any, is as it was.
type ControlRefused struct {
	// RequestID is the refused ControlRequested's request id.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is the refused request's job.
	Job JobRef `json:"job"`
	// Operation is the refused request's operation.
	Operation Operation `json:"operation"`
	// Reason is a snake_case code: job_not_found, operation_in_progress,
	// request_id_conflict, operation_not_allowed, savepoint_not_shared.
	Reason string `json:"reason" jsonschema:"maxLength=64,pattern=^[a-z][a-z0-9_]*$"`
	// Message explains the refusal to a person (the operation in flight,
	// both content hashes of a conflict), at most 32 KiB.
	Message string `json:"message,omitempty"`
	// Time is when the request was refused (RFC 3339).
	Time time.Time `json:"time"`
}

// Reasons of a ControlRefused.
const (
	// RefusedJobNotFound: the track worker stores no job with that key.
	RefusedJobNotFound = "job_not_found"
	// RefusedInProgress: another operation of the job is in flight.
	RefusedInProgress = "operation_in_progress"
	// RefusedConflict: the request id is known with other content.
	RefusedConflict = "request_id_conflict"
	// RefusedNotAllowed: the operation makes no sense in the job's state
	// or mode (resume of a running job, dispose of a savepoint not in the
	// history, delete of a session cluster that still runs jobs).
	RefusedNotAllowed = "operation_not_allowed"
	// RefusedSavepointNotShared: a move (upgrade.from) whose savepoint
	// directory is local to the job's Kubernetes cluster (file://,
	// local://, no scheme) and not declared shared: the new place could
	// not read the savepoint.
	RefusedSavepointNotShared = "savepoint_not_shared"
)

// EventType returns TypeControlRefused.
func (e *ControlRefused) EventType() string { return TypeControlRefused }

// JobKey returns e.Job.Key().
func (e *ControlRefused) JobKey() string { return e.Job.Key() }

func (e *ControlRefused) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem.
func (e *ControlRefused) Validate() error {
	var v validator
	checkRequestID(&v, "request_id", e.RequestID)
	e.Job.validate(&v, "job")
	if !e.Operation.IsKnown() {
		v.addf("operation", "must be one of cancel, suspend, resume, restart, savepoint, delete, dispose, upgrade, got %q", clip(string(e.Operation)))
	}
	checkReasonCode(&v, "reason", e.Reason, true)
	checkMessage(&v, "message", e.Message, false)
	checkTime(&v, "time", e.Time)
	return v.result()
}
