package track

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// Automatic restarts (SubmitRequested.RestartPolicy, docs/upgrades.md).
// The shard owner checks each owned job with a policy at most every
// ClusterMetricInterval, in the operation pool: the restarts Flink made
// are counted in the job's exception history (GET /jobs/{id}/exceptions,
// one entry per failure the scheduler handled), the checkpoint age is
// the tracker's record. A trigger records a restart operation whose
// request id is derived from the run, the cause and the trigger's own
// data ("auto-<cause>-<run hash>-<ms>": the newest restart counted, or
// the time checkpoints stopped), so every replica and every retry names
// the same operation, which RecordOp records once; a second one cannot
// start while one is in flight (operation_in_progress) and the completed
// one replaces the run. A run an automatic restart started is not
// restarted automatically again before the trigger's window (or age) has
// passed since it was deployed, nor is a run whose automatic restart
// failed within that time: no restart loop is faster than the window.

// autoPrefix starts the request id of every automatic restart.
const autoPrefix = "auto-"

// The causes of an automatic restart; its events' reason is
// "auto_restart_<cause>".
const (
	causeRestarts      = "restarts"
	causeCheckpointAge = "checkpoint_age"
)

// ExceptionReader reads a job's exception history
// (internal/flinkrest.Client).
type ExceptionReader interface {
	JobExceptions(ctx context.Context, base, jobID string) (*flinkrest.JobExceptions, error)
}

// autoRestartID is the request id of an automatic restart of run
// runRequestID for cause, triggered by what happened at at.
func autoRestartID(cause, runRequestID string, at time.Time) string {
	sum := sha256.Sum256([]byte(runRequestID))
	return autoPrefix + cause + "-" + hex.EncodeToString(sum[:8]) + "-" + strconv.FormatInt(at.UnixMilli(), 10)
}

// autoRestartCause returns the cause of op when it is an automatic
// restart, "" otherwise.
func autoRestartCause(op *ops.Op) string {
	if op == nil || op.Operation != messages.OpRestart || !strings.HasPrefix(op.RequestID, autoPrefix) {
		return ""
	}
	for _, c := range []string{causeRestarts, causeCheckpointAge} {
		if strings.HasPrefix(op.RequestID, autoPrefix+c+"-") {
			return c
		}
	}
	return ""
}

// autoRestartMessage explains an automatic restart of j for cause.
func autoRestartMessage(j *jobstore.Job, cause string) string {
	p := j.RestartPolicy
	switch {
	case p == nil:
		return "automatic restart (restart_policy)"
	case cause == causeRestarts:
		return fmt.Sprintf("Flink restarted the job more than %d times within %d s (restart_policy.max_restarts): restarted from its latest state", p.MaxRestarts, p.WindowSeconds)
	}
	return fmt.Sprintf("no checkpoint of the job completed for %d s (restart_policy.checkpoint_age_seconds): restarted from its latest state", p.CheckpointAgeSeconds)
}

// restartingStates are the states in which Flink's restarts are counted.
var restartingStates = []messages.JobState{messages.StateRunning, messages.StateRestarting, messages.StateFailing, messages.StateCreated, messages.StateInitializing}

// autoRestartDue queues the automatic-restart checks due among the owned
// jobs, each at most every ClusterMetricInterval.
func (t *Tracker) autoRestartDue(now time.Time, queue func(opRound)) {
	for k, j := range t.jobs {
		p := j.RestartPolicy
		if p == nil || t.opBusy[k] || (j.Op != nil && j.Op.Phase != ops.Done) || !t.owner.Owns(j.Shard) ||
			!slices.Contains(restartingStates, j.State) || now.Before(t.autoNext[k]) {
			continue
		}
		t.autoNext[k] = now.Add(t.cfg.ClusterMetricInterval)
		queue(opRound{job: *j, flinkState: t.flinkStates[k], auto: true})
	}
}

// cooling reports whether j is not to be restarted automatically for a
// trigger of period: its run was started by an automatic restart, or its
// last automatic restart failed, less than period ago.
func cooling(j *jobstore.Job, now time.Time, period time.Duration) bool {
	if strings.HasPrefix(j.RequestID, autoPrefix) && now.Before(j.DeployedAt.Add(period)) {
		return true
	}
	op := j.Op
	return autoRestartCause(op) != "" && op.Run == j.RequestID && op.Result == ops.Failed && now.Before(op.RequestedAt.Add(period))
}

// checkAutoRestart decides whether r's job is due an automatic restart
// and records it.
func (t *Tracker) checkAutoRestart(ctx context.Context, r opRound) opDone {
	j := &r.job
	p := j.RestartPolicy
	now := t.now().UTC()
	cause, at := "", time.Time{}
	if p.CheckpointAgeSeconds > 0 && j.State == messages.StateRunning {
		age := time.Duration(p.CheckpointAgeSeconds) * time.Second
		since := j.Checkpoints.LastCompletedAt
		for _, s := range []time.Time{j.StateSince, j.DeployedAt} {
			if s.After(since) {
				since = s
			}
		}
		if !since.IsZero() && now.Sub(since) > age && !cooling(j, now, age) {
			cause, at = causeCheckpointAge, since
		}
	}
	if cause == "" && p.MaxRestarts > 0 && t.exceptions != nil && j.RestEndpoint != "" && j.FlinkJobID != "" {
		window := time.Duration(p.WindowSeconds) * time.Second
		if !cooling(j, now, window) {
			ex, err := t.exceptions.JobExceptions(ctx, j.RestEndpoint, j.FlinkJobID)
			if err != nil {
				if ctx.Err() == nil {
					t.log.Debug("reading the exception history for the restart policy", "job", j.Key, "error", truncate(err.Error(), 512))
				}
				return opDone{key: j.Key}
			}
			var in []time.Time
			for _, e := range ex.History {
				if e.Time.After(now.Add(-window)) && !e.Time.Before(j.DeployedAt.Add(-time.Second)) {
					in = append(in, e.Time)
				}
			}
			if len(in) > p.MaxRestarts {
				cause, at = causeRestarts, slices.MaxFunc(in, func(a, b time.Time) int { return a.Compare(b) })
			}
		}
	}
	if cause == "" {
		return opDone{key: j.Key}
	}
	return t.recordAutoRestart(ctx, j, cause, at, now)
}

// recordAutoRestart records the automatic restart of j for cause as the
// job's operation: from the latest completed checkpoint recorded, else the
// latest completed savepoint of the history; never without state.
func (t *Tracker) recordAutoRestart(ctx context.Context, j *jobstore.Job, cause string, at, now time.Time) opDone {
	id := autoRestartID(cause, j.RequestID, at)
	req := &messages.ControlRequested{RequestID: id, Job: j.Job, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromCheckpoint}}
	if j.Checkpoints.LastCompletedPath == "" {
		sps, err := t.store.Savepoints(ctx, j.Key, 100)
		if err != nil {
			return opDone{key: j.Key}
		}
		for _, sp := range sps {
			if sp.Result == ops.Completed && sp.Path != "" {
				req.Restore = &messages.RestoreOptions{From: messages.RestoreFromPath, Path: sp.Path}
				break
			}
		}
		if req.Restore.From != messages.RestoreFromPath {
			if t.warnOnce(j.Key, id) {
				t.log.Warn("automatic restart not done: the job has no completed checkpoint or savepoint to restore from", "job", j.Key, "cause", cause)
			}
			return opDone{key: j.Key}
		}
	}
	op := ops.Op{
		RequestID: id, TriggerID: flinkrest.TriggerID(id), Request: req, Run: j.RequestID, Operation: messages.OpRestart,
		Mode: j.Mode, Phase: ops.Requested, RequestedAt: now, Deadline: now.Add(t.cfg.OperationTimeout),
	}
	if t.cfg.OperationTimeout <= 0 {
		op.Deadline = now.Add(30 * time.Minute)
	}
	msg, err := checkRestart(ctx, t.store, j, &op)
	if err != nil {
		return opDone{key: j.Key}
	}
	if msg != "" {
		if t.warnOnce(j.Key, id) {
			t.log.Warn("automatic restart not done", "job", j.Key, "cause", cause, "why", msg)
		}
		return opDone{key: j.Key}
	}
	hash, err := contentHash(req)
	if err != nil {
		return opDone{key: j.Key}
	}
	res, err := t.store.RecordOp(ctx, j.Key, op, hash)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("recording an automatic restart", "job", j.Key, "request_id", id, "error", err.Error())
		}
		return opDone{key: j.Key}
	}
	if res.Outcome != jobstore.OpRecorded {
		return opDone{key: j.Key}
	}
	t.log.Info("automatic restart", "job", j.Key, "request_id", id, "cause", cause)
	t.m.autoRestarts.WithLabelValues(cause).Inc()
	_ = t.store.MarkOp(ctx, j.Key)
	return opDone{key: j.Key, set: true, next: res.Current}
}

// warnOnce reports whether the automatic restart id of job key was not
// warned about yet, and remembers it: one log line per trigger, not per
// check.
func (t *Tracker) warnOnce(key, id string) bool {
	t.autoMu.Lock()
	defer t.autoMu.Unlock()
	if t.autoWarned[key] == id {
		return false
	}
	t.autoWarned[key] = id
	return true
}
