package jobstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// Job is a tracked job as stored in its hash.
type Job struct {
	// Key is Job.Key(), "<kube-cluster>/<namespace>/<cluster-id>".
	Key string
	// Job names the Flink cluster (or session job).
	Job messages.JobRef
	// Mode is the deployment mode of the registered run.
	Mode messages.Mode
	// RequestID is the request id of the registered run.
	RequestID string
	// FlinkJobID is the Flink job id; empty for a session cluster.
	FlinkJobID string
	// SessionClusterID is the session cluster running a session job.
	SessionClusterID string
	// RestEndpoint is the JobManager's REST base URL as workers reach it,
	// stored without user information.
	RestEndpoint string
	// WebUIURL is the Flink web UI as people reach it, stored without
	// user information.
	WebUIURL string
	// Image is the deployed image, pinned by digest.
	Image string
	// Labels are the request's labels.
	Labels map[string]string
	// Shard is the job's shard, ShardOf(Key, Options.Shards) when it was
	// registered.
	Shard int
	// Version is bumped by every successful write; Apply compares it.
	Version int64
	// State is the current state.
	State messages.JobState
	// Reason and Message are those of the last transition (Message at most
	// 4 KiB).
	Reason, Message string
	// StateSince is when State was entered.
	StateSince time.Time
	// SilentSince is when the job's JobManager stopped answering; zero
	// unless the tracker keeps SILENT/LOST bookkeeping.
	SilentSince time.Time
	// DeployedAt is messages.Deployed.Time of the registered run.
	DeployedAt time.Time
	// StartTime, EndTime and DurationMS are Flink's, from /jobs/overview.
	StartTime, EndTime time.Time
	DurationMS         int64
	// LastPoll is the last successful REST poll.
	LastPoll time.Time
	// LastError is the error of the last failed poll, at most 1 KiB;
	// cleared by the next successful one.
	LastError string
	// Metrics are the JobManager's cluster metrics.
	Metrics Metrics
	// Checkpoints summarise the job's checkpoints.
	Checkpoints Checkpoints
	// Op is the job's operation: the one in flight, or the last one done
	// (kept until the next is recorded); nil when none was ever recorded.
	Op *ops.Op
	// OpHash is the content hash of Op's request (RecordOp).
	OpHash string
	// SavepointPolicy is the run's periodic savepoints
	// (SubmitRequested.Savepoints); nil for none.
	SavepointPolicy *messages.SavepointPolicy
	// RestartPolicy is the run's automatic restarts
	// (SubmitRequested.RestartPolicy); nil for none.
	RestartPolicy *messages.RestartPolicy
}

// Metrics are a Flink cluster's metrics as the track worker polls them.
type Metrics struct {
	// JobManagerMemoryBytes and TaskManagerMemoryBytes are the process
	// sizes from /jobmanager/config (jobmanager.memory.process.size and
	// taskmanager.memory.process.size).
	JobManagerMemoryBytes, TaskManagerMemoryBytes int64
	// TaskManagers, SlotsTotal, SlotsAvailable and RunningJobs are from
	// /overview.
	TaskManagers, SlotsTotal, SlotsAvailable, RunningJobs int64
	// FlinkVersion is from /overview.
	FlinkVersion string
}

// Checkpoints summarise a job's checkpoints (/jobs/{id}/checkpoints).
type Checkpoints struct {
	// Total, Completed, Failed, InProgress and Restored are Flink's counts.
	Total, Completed, Failed, InProgress, Restored int64
	// LastCompletedID, LastCompletedAt, LastCompletedSize (bytes) and
	// LastCompletedPath describe the latest completed checkpoint.
	LastCompletedID   int64
	LastCompletedAt   time.Time
	LastCompletedSize int64
	LastCompletedPath string
	// LastFailedAt and LastFailureMessage describe the latest failed one.
	LastFailedAt       time.Time
	LastFailureMessage string
}

// Hash fields of a job. docs/redis.md lists them with their writers.
const (
	fKubeCluster      = "kube_cluster"
	fNamespace        = "namespace"
	fClusterID        = "cluster_id"
	fMode             = "mode"
	fRequestID        = "request_id"
	fFlinkJobID       = "flink_job_id"
	fSessionClusterID = "session_cluster_id"
	fRestEndpoint     = "rest_endpoint"
	fWebUIURL         = "web_ui_url"
	fImage            = "image"
	fLabels           = "labels"
	fSavepointPolicy  = "sp_policy"
	fRestartPolicy    = "rp_policy"
	// fRecovered marks a run rebuilt from Kubernetes whose state is not
	// known yet (RegisterRecovered); apply drops it at its first state
	// other than STARTING or K8S_INITIALIZING.
	fRecovered   = "recovered"
	fDeployedAt  = "deployed_at"
	fShard       = "shard"
	fVersion     = "version"
	fIncarnation = "inc"
	fState       = "state"
	fStateSince  = "state_since"
	fReason      = "reason"
	fMessage     = "message"
	fSilentSince = "silent_since"
	fStartTime   = "start_time"
	fEndTime     = "end_time"
	fDurationMS  = "duration_ms"
	fLastPoll    = "last_poll"
	fLastError   = "last_error"

	fJMMemory       = "jm_memory"
	fTMMemory       = "tm_memory"
	fTaskManagers   = "taskmanagers"
	fSlotsTotal     = "slots_total"
	fSlotsAvailable = "slots_available"
	fRunningJobs    = "running_jobs"
	fFlinkVersion   = "flink_version"

	fCPTotal       = "cp_total"
	fCPCompleted   = "cp_completed"
	fCPFailed      = "cp_failed"
	fCPInProgress  = "cp_in_progress"
	fCPRestored    = "cp_restored"
	fCPLastID      = "cp_last_id"
	fCPLastAt      = "cp_last_at"
	fCPLastSize    = "cp_last_size"
	fCPLastPath    = "cp_last_path"
	fCPLastFailAt  = "cp_last_failed_at"
	fCPLastFailure = "cp_last_failure"

	// The job's operation (RecordOp, UpdateOp): every field starts with
	// "op_", which the register script keeps across a new run.
	fOpRequestID   = "op_request_id"
	fOpHash        = "op_hash"
	fOpOperation   = "op_operation"
	fOpMode        = "op_mode"
	fOpTriggerID   = "op_trigger_id"
	fOpPhase       = "op_phase"
	fOpResult      = "op_result"
	fOpRequestedAt = "op_requested_at"
	fOpDeadline    = "op_deadline"
	fOpLocation    = "op_location"
	fOpReason      = "op_reason"
	fOpMessage     = "op_message"
	fOpRun         = "op_run"
	fOpRequest     = "op_request"
	fOpUpgrade     = "op_upgrade"
	fOpOffline     = "op_offline"
	fOpUndeployed  = "op_undeployed"
)

// opHashFields lists the fields of the job's operation.
var opHashFields = []string{
	fOpRequestID, fOpHash, fOpOperation, fOpMode, fOpTriggerID, fOpPhase, fOpResult,
	fOpRequestedAt, fOpDeadline, fOpLocation, fOpReason, fOpMessage, fOpRun, fOpRequest, fOpUpgrade, fOpOffline, fOpUndeployed,
}

// hashFields lists every field a job hash may hold.
var hashFields = append([]string{
	fKubeCluster, fNamespace, fClusterID, fMode, fRequestID, fFlinkJobID, fSessionClusterID,
	fRestEndpoint, fWebUIURL, fImage, fLabels, fSavepointPolicy, fRestartPolicy, fDeployedAt, fShard, fVersion, fIncarnation,
	fState, fStateSince, fReason, fMessage, fSilentSince, fStartTime, fEndTime, fDurationMS,
	fLastPoll, fLastError,
	fJMMemory, fTMMemory, fTaskManagers, fSlotsTotal, fSlotsAvailable, fRunningJobs, fFlinkVersion,
	fCPTotal, fCPCompleted, fCPFailed, fCPInProgress, fCPRestored, fCPLastID, fCPLastAt,
	fCPLastSize, fCPLastPath, fCPLastFailAt, fCPLastFailure,
}, opHashFields...)

// ms renders t as Unix milliseconds; the zero time is "0".
func ms(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// fields collects the field/value pairs to set and the fields to delete
// of one hash write: empty strings and zero times are deleted, not stored.
type fields struct {
	set []any
	del []string
}

func (f *fields) str(name, v string) {
	if v == "" {
		f.del = append(f.del, name)
		return
	}
	f.set = append(f.set, name, v)
}

func (f *fields) int(name string, v int64) { f.set = append(f.set, name, strconv.FormatInt(v, 10)) }

func (f *fields) time(name string, t time.Time) {
	if t.IsZero() {
		f.del = append(f.del, name)
		return
	}
	f.set = append(f.set, name, ms(t))
}

func (f *fields) metrics(m *Metrics) {
	f.int(fJMMemory, m.JobManagerMemoryBytes)
	f.int(fTMMemory, m.TaskManagerMemoryBytes)
	f.int(fTaskManagers, m.TaskManagers)
	f.int(fSlotsTotal, m.SlotsTotal)
	f.int(fSlotsAvailable, m.SlotsAvailable)
	f.int(fRunningJobs, m.RunningJobs)
	f.str(fFlinkVersion, m.FlinkVersion)
}

func (f *fields) checkpoints(c *Checkpoints) {
	f.int(fCPTotal, c.Total)
	f.int(fCPCompleted, c.Completed)
	f.int(fCPFailed, c.Failed)
	f.int(fCPInProgress, c.InProgress)
	f.int(fCPRestored, c.Restored)
	f.int(fCPLastID, c.LastCompletedID)
	f.time(fCPLastAt, c.LastCompletedAt)
	f.int(fCPLastSize, c.LastCompletedSize)
	f.str(fCPLastPath, redact(c.LastCompletedPath))
	f.time(fCPLastFailAt, c.LastFailedAt)
	f.str(fCPLastFailure, capText(redact(c.LastFailureMessage), maxMessage))
}

// parser reads typed values out of a hash, remembering the first error.
type parser struct {
	h   map[string]string
	err error
}

func (p *parser) int(name string) int64 {
	s, ok := p.h[name]
	if !ok || s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("field %s: %q is not an integer", name, s)
	}
	return n
}

func (p *parser) time(name string) time.Time {
	n := p.int(name)
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// parseJob turns a job hash into a Job; nil for an empty hash.
func parseJob(key string, h map[string]string) (*Job, error) {
	if len(h) == 0 {
		return nil, nil
	}
	p := &parser{h: h}
	j := &Job{
		Key:              key,
		Job:              messages.JobRef{KubeCluster: h[fKubeCluster], Namespace: h[fNamespace], ClusterID: h[fClusterID]},
		Mode:             messages.Mode(h[fMode]),
		RequestID:        h[fRequestID],
		FlinkJobID:       h[fFlinkJobID],
		SessionClusterID: h[fSessionClusterID],
		RestEndpoint:     h[fRestEndpoint],
		WebUIURL:         h[fWebUIURL],
		Image:            h[fImage],
		Shard:            int(p.int(fShard)),
		Version:          p.int(fVersion),
		State:            messages.JobState(h[fState]),
		Reason:           h[fReason],
		Message:          h[fMessage],
		StateSince:       p.time(fStateSince),
		SilentSince:      p.time(fSilentSince),
		DeployedAt:       p.time(fDeployedAt),
		StartTime:        p.time(fStartTime),
		EndTime:          p.time(fEndTime),
		DurationMS:       p.int(fDurationMS),
		LastPoll:         p.time(fLastPoll),
		LastError:        h[fLastError],
		Metrics: Metrics{
			JobManagerMemoryBytes:  p.int(fJMMemory),
			TaskManagerMemoryBytes: p.int(fTMMemory),
			TaskManagers:           p.int(fTaskManagers),
			SlotsTotal:             p.int(fSlotsTotal),
			SlotsAvailable:         p.int(fSlotsAvailable),
			RunningJobs:            p.int(fRunningJobs),
			FlinkVersion:           h[fFlinkVersion],
		},
		Checkpoints: Checkpoints{
			Total:              p.int(fCPTotal),
			Completed:          p.int(fCPCompleted),
			Failed:             p.int(fCPFailed),
			InProgress:         p.int(fCPInProgress),
			Restored:           p.int(fCPRestored),
			LastCompletedID:    p.int(fCPLastID),
			LastCompletedAt:    p.time(fCPLastAt),
			LastCompletedSize:  p.int(fCPLastSize),
			LastCompletedPath:  h[fCPLastPath],
			LastFailedAt:       p.time(fCPLastFailAt),
			LastFailureMessage: h[fCPLastFailure],
		},
	}
	j.Op, j.OpHash = parseOp(p)
	if s := h[fLabels]; s != "" {
		if err := json.Unmarshal([]byte(s), &j.Labels); err != nil && p.err == nil {
			p.err = fmt.Errorf("field %s: %w", fLabels, err)
		}
	}
	if s := h[fSavepointPolicy]; s != "" {
		j.SavepointPolicy = new(messages.SavepointPolicy)
		if err := json.Unmarshal([]byte(s), j.SavepointPolicy); err != nil && p.err == nil {
			p.err = fmt.Errorf("field %s: %w", fSavepointPolicy, err)
		}
	}
	if s := h[fRestartPolicy]; s != "" {
		j.RestartPolicy = new(messages.RestartPolicy)
		if err := json.Unmarshal([]byte(s), j.RestartPolicy); err != nil && p.err == nil {
			p.err = fmt.Errorf("field %s: %w", fRestartPolicy, err)
		}
	}
	if p.err != nil {
		return nil, fmt.Errorf("reading job %s: %w", key, p.err)
	}
	return j, nil
}
