package state

import (
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Observation is what one tracking round saw for one job.
type Observation struct {
	// Time is when the round ran; every timeout is measured against it.
	Time time.Time
	// REST is what Flink's REST API answered in this round.
	REST REST
	// Kube is what the Kubernetes informers show for the job's JobManager
	// Deployment (in mode session: its session cluster's).
	Kube Kube
}

// RESTOutcome says whether the JobManager's REST API was asked and
// answered in a round.
type RESTOutcome int

const (
	// RESTNotPolled: this round did not ask REST (a round started by a
	// Kubernetes change). The last REST answer, which the previous state
	// records, still stands. It is the zero value.
	RESTNotPolled RESTOutcome = iota
	// RESTAnswered: /jobs/overview (mode session-cluster: any answer of
	// the cluster) came back well-formed.
	RESTAnswered
	// RESTUnreachable: connection refused or reset, timeout, 5xx, or an
	// answer that could not be decoded.
	RESTUnreachable
)

// REST is what Flink's REST API answered for one job.
type REST struct {
	// Outcome says whether REST was asked and answered.
	Outcome RESTOutcome
	// JobFound reports whether the job is listed in /jobs/overview (modes
	// application and session; ignored in mode session-cluster).
	JobFound bool
	// JobState is the job's state as listed, when JobFound.
	JobState messages.JobState
	// Error says why REST did not answer, for the decision's message. It
	// must not carry secrets (the track worker strips URLs' credentials).
	Error string
}

// KubeOutcome says what Kubernetes knows about the JobManager Deployment.
type KubeOutcome int

const (
	// KubeUnknown: the informer has not synced, its watch is failing, or
	// the cluster is not watched. Unknown is never read as "gone". It is
	// the zero value.
	KubeUnknown KubeOutcome = iota
	// KubeAbsent: the informer is synced and the Deployment does not exist
	// (or is being deleted).
	KubeAbsent
	// KubePresent: the Deployment exists; Kube's other fields describe it.
	KubePresent
)

// Kube is what the Kubernetes informers show for a JobManager Deployment
// and its pods. FromKubernetes builds it from the objects.
type Kube struct {
	// Outcome says whether the Deployment is known to exist.
	Outcome KubeOutcome
	// ScaledToZero reports a Deployment whose desired replicas are 0: no
	// JobManager runs by design.
	ScaledToZero bool
	// Ready reports that a JobManager pod is Ready (or, without pods, that
	// the Deployment counts a ready replica).
	Ready bool
	// ReadySince is when the most recently readied JobManager pod became
	// Ready; zero when unknown.
	ReadySince time.Time
	// Problems are reasons the JobManager cannot start (image pull
	// failures, crash loops, ...), in a stable order; Decide reports the
	// first that counts. Crash loops count from Config.CrashLoopRestarts.
	Problems []Problem
	// Waiting are reasons the JobManager is not ready yet that are not
	// failures (ContainerCreating, unschedulable, ...), in a stable order.
	Waiting []Problem
}

// Problem is one reason, from Kubernetes, why a JobManager is not running.
type Problem struct {
	// Code is a snake_case machine code (the Reason* constants).
	Code string
	// KubeReason is Kubernetes' own reason (ImagePullBackOff, Unschedulable, ...).
	KubeReason string
	// Pod and Container name where it was seen; Container is empty for a
	// pod-level or Deployment-level reason.
	Pod, Container string
	// Message is Kubernetes' message, prefixed with the pod and container,
	// at most 1 KiB.
	Message string
	// RestartCount is the container's restart count.
	RestartCount int32
}

// Record is the previous decision, as the job store holds it.
type Record struct {
	// State is the current state; empty for a job never decided. Empty
	// and unreadable (not UPPER_SNAKE_CASE) states are read as STARTING.
	State messages.JobState
	// Since is when State began (for STARTING: when the job was registered).
	Since time.Time
	// SilentSince is when the job became SILENT; zero unless SILENT or LOST.
	SilentSince time.Time
	// Reason is the current state's reason code. Optional: it is carried
	// over when a state is kept without new evidence (SILENT to LOST on a
	// round without REST).
	Reason string
}

// Decision is the state Decide chose for a job.
type Decision struct {
	// State is the job's state after the round. A transition happened when
	// it differs from Record.State.
	State messages.JobState
	// Reason is a snake_case machine code (the Reason* constants); empty
	// for Flink's own states.
	Reason string
	// Message explains Reason to a person (Kubernetes' message, REST's
	// error), at most a few KiB.
	Message string
	// SilentSince is when the job became SILENT; zero unless State is
	// SILENT or LOST. Store it with the state.
	SilentSince time.Time
	// StopPolling reports that REST need not be polled any more: State is
	// terminal (messages.JobState.IsTerminal).
	StopPolling bool
	// Final reports that no observation can change State: FINISHED,
	// FAILED, CANCELED, TERMINATED. DEPLOY_FAILED is not final: feed
	// Kubernetes observations on, and Decide moves the job back to
	// K8S_INITIALIZING when its JobManager becomes ready (a registry that
	// came back, a Secret created).
	Final bool
}
