package ops

import (
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Phase is where an operation is.
type Phase string

const (
	// Requested: recorded; Flink has not accepted the operation yet.
	Requested Phase = "requested"
	// Triggered: Flink accepted it; its status is polled each round.
	Triggered Phase = "triggered"
	// Cleanup: final in Flink; the application cluster's Kubernetes
	// objects (Deployment, HA ConfigMaps) are being removed.
	Cleanup Phase = "cleanup"
	// Deploy: an upgrade's old cluster is gone; the new run is handed to
	// the submit worker.
	Deploy Phase = "deploy"
	// Done: nothing is left to do; Result says how it ended.
	Done Phase = "done"
)

// Result is how a Done operation ended.
type Result string

const (
	// Completed: the operation did what it was asked.
	Completed Result = "completed"
	// Failed: it did not; Op.Reason and Op.Message say why, and the job
	// is as it was (a failed savepoint leaves a RUNNING job RUNNING).
	Failed Result = "failed"
)

// Op is one operation on one job, as stored with the job.
type Op struct {
	// RequestID is the control request's; TriggerID the Flink trigger id
	// derived from it (flinkrest.TriggerID), the same on every replica and
	// every redelivery.
	RequestID, TriggerID string
	// Run is the request id of the job's run the operation acts on (the
	// submit request that started it): an operation of an earlier run
	// decides nothing about a later one.
	Run string
	// Request is the control request, for the operation's options (the
	// savepoint's directory, format and drain, the restore options, the
	// savepoint to dispose); nil when not recorded.
	Request *messages.ControlRequested
	// Upgrade is the new run an upgrade deploys once the old one is gone
	// (its image built event); nil for the other operations. Offline: the
	// job was not running when the upgrade or restart was recorded, so
	// nothing is asked of Flink (an application cluster is removed, the
	// new run deployed).
	Upgrade *messages.ImageBuilt
	Offline bool
	// Undeployed: an upgrade or restart that had handed its new run over
	// (the old run stopped, its cluster removed) failed because the
	// submit worker could not deploy the new run (Reason and Message are
	// the deploy failure's): the job has no cluster, it is DEPLOY_FAILED.
	Undeployed bool
	// Operation is what was asked; Mode the job's mode.
	Operation messages.Operation
	Mode      messages.Mode
	// Phase and Result are where the operation is and how it ended.
	Phase  Phase
	Result Result
	// RequestedAt is when it was recorded; Deadline when it fails if Flink
	// has not finished it (trigger retries and savepoint duration).
	RequestedAt, Deadline time.Time
	// Location is the savepoint's path once completed; for resume, the
	// path it restores from (chosen when recorded; empty: no state).
	Location string
	// Reason and Message say why a failed operation failed (Flink's root
	// cause, bounded by the caller).
	Reason, Message string
}

// Flink reports whether the operation asks Flink for something
// (everything but resume and the deletion of a whole cluster).
func (o Op) Flink() bool {
	switch o.Operation {
	case messages.OpResume:
		return false
	case messages.OpUpgrade, messages.OpRestart:
		return !o.Offline
	case messages.OpDelete:
		return o.Mode == messages.ModeSession
	}
	return true
}

// RestoreFrom is where a restart (or resume) restores from: its
// request's restore.from, savepoint by default; "" for the other
// operations.
func (o Op) RestoreFrom() messages.RestoreFrom {
	if o.Operation != messages.OpRestart && o.Operation != messages.OpResume {
		return ""
	}
	if r := o.Request; r != nil && r.Restore != nil && r.Restore.From != "" {
		return r.Restore.From
	}
	return messages.RestoreFromSavepoint
}

// restartSavepoint reports whether o is a restart that stops the running
// job with a savepoint and restores from it (from savepoint, the job
// running when it was recorded); any other restart of a running job
// cancels it.
func (o Op) restartSavepoint() bool {
	return o.Operation == messages.OpRestart && !o.Offline && o.RestoreFrom() == messages.RestoreFromSavepoint
}

// Redeploys reports whether the operation ends by deploying a run of its
// own (upgrade, restart), in its Deploy phase.
func (o Op) Redeploys() bool {
	return o.Operation == messages.OpUpgrade || o.Operation == messages.OpRestart
}

// cleansUp reports whether the operation ends by removing the cluster's
// Kubernetes objects: suspend, cancel and delete of an application
// cluster, delete of a session cluster.
func (o Op) cleansUp() bool {
	switch o.Operation {
	case messages.OpSuspend, messages.OpCancel:
		return o.Mode == messages.ModeApplication
	case messages.OpDelete:
		return o.Mode != messages.ModeSession
	case messages.OpUpgrade:
		return true
	case messages.OpRestart:
		return o.Mode == messages.ModeApplication
	}
	return false
}

// UpgradeMode is an upgrade's mode (its new request's upgrade.mode,
// savepoint by default); "" for the other operations.
func (o Op) UpgradeMode() messages.UpgradeMode {
	if o.Operation != messages.OpUpgrade {
		return ""
	}
	if u := o.Upgrade; u != nil && u.Request.Upgrade != nil && u.Request.Upgrade.Mode != "" {
		return u.Request.Upgrade.Mode
	}
	return messages.UpgradeSavepoint
}

// cancels reports whether the operation cancels the job in Flink: cancel,
// delete of a session job, an upgrade or restart without a savepoint.
func (o Op) cancels() bool {
	return o.Operation == messages.OpCancel || (o.Operation == messages.OpDelete && o.Mode == messages.ModeSession) ||
		(o.Operation == messages.OpUpgrade && o.UpgradeMode() != messages.UpgradeSavepoint) ||
		(o.Operation == messages.OpRestart && !o.Offline && !o.restartSavepoint())
}

// savepoint reports whether the operation takes a savepoint.
func (o Op) savepoint() bool {
	return o.Operation == messages.OpSuspend || o.Operation == messages.OpSavepoint ||
		(o.Operation == messages.OpUpgrade && o.UpgradeMode() == messages.UpgradeSavepoint && !o.Offline) ||
		o.restartSavepoint()
}

// RestoresLatestCheckpoint reports whether the operation's new run
// restores from the job's latest completed checkpoint once the job is
// cancelled: an upgrade in mode last-state, a restart from checkpoint of a
// running job. The one recorded with the operation is a fallback; the
// latest one Flink completed before the cancel replaces it (a later
// checkpoint may have subsumed, and deleted, the recorded one).
func (o Op) RestoresLatestCheckpoint() bool {
	return (o.Operation == messages.OpUpgrade && o.UpgradeMode() == messages.UpgradeLastState) ||
		(o.Operation == messages.OpRestart && !o.Offline && o.RestoreFrom() == messages.RestoreFromCheckpoint)
}

// StopsWithSavepoint reports whether the operation stops the job with a
// savepoint (POST /jobs/{id}/stop): suspend, a savepoint upgrade or
// restart of a running job.
func (o Op) StopsWithSavepoint() bool {
	return o.savepoint() && o.Operation != messages.OpSavepoint
}

// JobState is the state a job shows while the operation is in flight, or
// after it ended: SUSPENDING then SUSPENDED, CANCELLING then CANCELED,
// SAVEPOINTING over a running job, DELETING; underlying otherwise (a
// failed operation shows the job as it is).
func (o Op) JobState(underlying messages.JobState) messages.JobState {
	if o.Phase == Done {
		switch {
		case o.Result != Completed:
			return underlying
		case o.Operation == messages.OpSuspend:
			return messages.StateSuspended
		case o.Operation == messages.OpCancel:
			return messages.StateCanceled
		}
		return underlying
	}
	switch o.Operation {
	case messages.OpSuspend:
		return StateSuspending
	case messages.OpCancel:
		return messages.StateCancelling
	case messages.OpSavepoint:
		return StateSavepointing
	case messages.OpDelete:
		return StateDeleting
	case messages.OpUpgrade:
		return StateUpgrading
	case messages.OpRestart:
		return StateRedeploying
	}
	return underlying
}

// The states an operation in flight shows (messages.JobStates lists
// them); a completed suspend shows messages.StateSuspended.
const (
	StateSuspending   = messages.StateSuspending
	StateSavepointing = messages.StateSavepointing
	StateDeleting     = messages.StateDeleting
	StateUpgrading    = messages.StateUpgrading
	StateRedeploying  = messages.StateRedeploying
)
