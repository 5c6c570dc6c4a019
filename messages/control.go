package messages

import "slices"

// ControlRequested asks flinkferry to act on a job it runs: cancel it,
// suspend it with a savepoint, resume it, restart it, take a savepoint,
// delete its cluster, or dispose a savepoint of its history. Upstream producers (and
// `flinkferry cancel|suspend|...`) write it to the Control topic keyed by
// the job's key, like submit requests, so one job's operations stay in
// order; the track worker consumes it. It is decoded strictly: unknown
// fields are rejected. RequestID is the idempotency key: the same request
// delivered twice acts once (the Flink trigger ids derive from it).
type ControlRequested struct {
	// RequestID identifies the operation and makes it idempotent. Required:
	// 1 to 128 letters, digits, '.', '_', ':' or '-'.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job names the job (or session cluster) to act on, as its submit
	// request did.
	Job JobRef `json:"job"`
	// Operation is what to do: cancel, suspend, resume, restart,
	// savepoint, delete or dispose.
	Operation Operation `json:"operation"`
	// Savepoint sets the savepoint of operations suspend and savepoint;
	// not allowed with the others.
	Savepoint *SavepointOptions `json:"savepoint,omitempty"`
	// Restore says where operations resume and restart restore from; not
	// allowed with the others. Absent means from a savepoint: for resume
	// the one the last suspend took; for restart of a RUNNING job a new one
	// it takes first, of a job that no longer runs the latest of its
	// history.
	Restore *RestoreOptions `json:"restore,omitempty"`
	// Force lets operation delete remove a session cluster that still runs
	// jobs (they are cancelled); not allowed with the other operations.
	Force bool `json:"force,omitempty"`
	// SavepointPath is the savepoint operation dispose removes, one of the
	// job's savepoint history (`flinkferry savepoints`). Required with
	// dispose, not allowed otherwise; at most 4096 characters.
	SavepointPath string `json:"savepoint_path,omitempty" jsonschema:"maxLength=4096"`
	// TimeoutSeconds bounds a savepoint (operations suspend and savepoint)
	// from trigger to completion; 0 or absent means the track worker's
	// default (30 minutes). At most 86400.
	TimeoutSeconds int `json:"timeout_seconds,omitempty" jsonschema:"minimum=0,maximum=86400"`
}

// Operation is what a ControlRequested asks for.
type Operation string

const (
	// OpCancel cancels the job without a savepoint (PATCH /jobs/{id}); an
	// application cluster is then deleted.
	OpCancel Operation = "cancel"
	// OpSuspend stops the job with a savepoint (POST /jobs/{id}/stop); an
	// application cluster is then deleted, its request and savepoint kept
	// for resume. The job becomes SUSPENDED.
	OpSuspend Operation = "suspend"
	// OpResume deploys a suspended (or cancelled, failed, finished) job
	// again from its request, restoring as Restore says.
	OpResume Operation = "resume"
	// OpRestart deploys the job's current request again (a nonce, as the
	// Flink Kubernetes Operator's restartNonce): the running job is stopped
	// (with a savepoint when it restores from one, else cancelled), an
	// application cluster removed, and the request deployed again under the
	// restart's request id, restoring as Restore says. A job that no longer
	// runs (FAILED, CANCELED...) is deployed again the same way.
	OpRestart Operation = "restart"
	// OpSavepoint takes a savepoint of a running job (POST
	// /jobs/{id}/savepoints); the job keeps running.
	OpSavepoint Operation = "savepoint"
	// OpDelete removes the job's cluster (application or session cluster)
	// or cancels a session job, and forgets it.
	OpDelete Operation = "delete"
	// OpDispose disposes a savepoint of the job's history through Flink
	// (POST /savepoint-disposal) and removes it from the history.
	OpDispose Operation = "dispose"
	// OpUpgrade replaces a job's run by a new submit request (UpgradeRequested,
	// from the submit worker; not a ControlRequested operation).
	OpUpgrade Operation = "upgrade"
)

// Operations returns every Operation, in documentation order: those of a
// ControlRequested (ControlOperations), then upgrade.
func Operations() []Operation {
	return append(ControlOperations(), OpUpgrade)
}

// ControlOperations returns the operations a ControlRequested may ask for:
// every Operation but upgrade (a user upgrades by submitting a request).
func ControlOperations() []Operation {
	return []Operation{OpCancel, OpSuspend, OpResume, OpRestart, OpSavepoint, OpDelete, OpDispose}
}

// IsKnown reports whether o is one of Operations.
func (o Operation) IsKnown() bool { return slices.Contains(Operations(), o) }

// SavepointOptions say how to take a savepoint.
type SavepointOptions struct {
	// Directory is where the savepoint goes (target-directory); empty
	// means the job's state.savepoints.dir. A URI with a scheme, at most
	// 4096 characters.
	Directory string `json:"directory,omitempty" jsonschema:"maxLength=4096"`
	// Format is CANONICAL (the default, portable between state backends)
	// or NATIVE (faster, the state backend's own format).
	Format SavepointFormat `json:"format,omitempty"`
	// Drain emits MAX_WATERMARK before the job stops (operation suspend
	// only): event-time timers fire, windows close. Use it when the job
	// will not be resumed.
	Drain bool `json:"drain,omitempty"`
}

// SavepointFormat is Flink's SavepointFormatType.
type SavepointFormat string

// Flink's savepoint formats.
const (
	FormatCanonical SavepointFormat = "CANONICAL"
	FormatNative    SavepointFormat = "NATIVE"
)

// RestoreOptions say where a resumed or restarted job restores from.
type RestoreOptions struct {
	// From is savepoint (the default: for resume the savepoint the last
	// suspend took, else the latest completed savepoint of the history; for
	// restart of a RUNNING job a savepoint it takes, of a job that does not
	// run the latest of the history), checkpoint
	// (the latest completed checkpoint the track worker recorded), path
	// (Path) or none (start without state).
	From RestoreFrom `json:"from,omitempty"`
	// Path is the savepoint or retained checkpoint to restore from, with
	// From path. A URI with a scheme, at most 4096 characters.
	Path string `json:"path,omitempty" jsonschema:"maxLength=4096"`
	// AllowNonRestoredState is Flink's
	// execution.savepoint.ignore-unclaimed-state.
	AllowNonRestoredState bool `json:"allow_non_restored_state,omitempty"`
	// RestoreMode is Flink's execution.savepoint-restore-mode: CLAIM,
	// NO_CLAIM (the default) or LEGACY (not in Flink 2.x).
	RestoreMode RestoreMode `json:"restore_mode,omitempty"`
}

// RestoreFrom is where RestoreOptions restore from.
type RestoreFrom string

// Where a resumed job restores from.
const (
	RestoreFromSavepoint  RestoreFrom = "savepoint"
	RestoreFromCheckpoint RestoreFrom = "checkpoint"
	RestoreFromPath       RestoreFrom = "path"
	RestoreFromNone       RestoreFrom = "none"
)

// EventType returns TypeControlRequested.
func (r *ControlRequested) EventType() string { return TypeControlRequested }

// JobKey returns r.Job.Key().
func (r *ControlRequested) JobKey() string { return r.Job.Key() }

func (r *ControlRequested) requestID() string { return r.RequestID }

// maxControlTimeout bounds ControlRequested.TimeoutSeconds (one day).
const maxControlTimeout = 86400

// Validate checks every field and returns nil or a FieldErrors listing
// every problem, sorted by field.
func (r *ControlRequested) Validate() error {
	var v validator
	checkRequestID(&v, "request_id", r.RequestID)
	r.Job.validate(&v, "job")
	op := r.Operation
	known := slices.Contains(ControlOperations(), op)
	switch {
	case op == "":
		v.addf("operation", "required")
	case !known:
		v.addf("operation", "must be one of cancel, suspend, resume, restart, savepoint, delete, dispose, got %q (an upgrade is a submit request for the job)", clip(string(op)))
	}
	if r.Savepoint != nil {
		if op != OpSuspend && op != OpSavepoint && known {
			v.addf("savepoint", "only with operation suspend or savepoint")
		}
		r.Savepoint.validate(&v, "savepoint", op, known)
	}
	if r.Restore != nil {
		if op != OpResume && op != OpRestart && known {
			v.addf("restore", "only with operation resume or restart")
		}
		r.Restore.validate(&v, "restore")
	}
	if r.Force && op != OpDelete && known {
		v.addf("force", "only with operation delete")
	}
	switch {
	case op == OpDispose && r.SavepointPath == "":
		v.addf("savepoint_path", "required with operation dispose")
	case op != OpDispose && r.SavepointPath != "" && known:
		v.addf("savepoint_path", "only with operation dispose")
	case r.SavepointPath != "":
		checkStatePath(&v, "savepoint_path", r.SavepointPath)
	}
	switch {
	case r.TimeoutSeconds < 0 || r.TimeoutSeconds > maxControlTimeout:
		v.addf("timeout_seconds", "must be between 1 and %d, or 0 for the default, got %d", maxControlTimeout, r.TimeoutSeconds)
	case r.TimeoutSeconds != 0 && op != OpSuspend && op != OpSavepoint && known:
		v.addf("timeout_seconds", "only with operation suspend or savepoint")
	}
	return v.result()
}

func (s *SavepointOptions) validate(v *validator, p string, op Operation, known bool) {
	if s.Directory != "" {
		checkStatePath(v, at(p, "directory"), s.Directory)
	}
	switch s.Format {
	case "", FormatCanonical, FormatNative:
	default:
		v.addf(at(p, "format"), "must be CANONICAL or NATIVE, got %q", clip(string(s.Format)))
	}
	if s.Drain && op != OpSuspend && known {
		v.addf(at(p, "drain"), "only with operation suspend")
	}
}

func (r *RestoreOptions) validate(v *validator, p string) {
	switch r.From {
	case "", RestoreFromSavepoint, RestoreFromCheckpoint, RestoreFromNone:
		if r.Path != "" {
			v.addf(at(p, "path"), "only with from: path")
		}
	case RestoreFromPath:
		if r.Path == "" {
			v.addf(at(p, "path"), "required with from: path")
		} else {
			checkStatePath(v, at(p, "path"), r.Path)
		}
	default:
		v.addf(at(p, "from"), "must be one of savepoint, checkpoint, path, none, got %q", clip(string(r.From)))
	}
	if r.RestoreMode != "" && !r.RestoreMode.IsKnown() {
		v.addf(at(p, "restore_mode"), "must be one of CLAIM, NO_CLAIM, LEGACY, got %q", clip(string(r.RestoreMode)))
	}
	if r.From == RestoreFromNone && (r.AllowNonRestoredState || r.RestoreMode != "") {
		v.addf(p, "allow_non_restored_state and restore_mode need state to restore from")
	}
}
