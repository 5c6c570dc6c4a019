package track

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// OpFlink is what day-2 operations need from Flink's REST API
// (internal/flinkrest.Client).
type OpFlink interface {
	TriggerSavepoint(ctx context.Context, base, jobID string, o flinkrest.SavepointRequest) (string, error)
	StopWithSavepoint(ctx context.Context, base, jobID string, o flinkrest.StopRequest) (string, error)
	SavepointStatus(ctx context.Context, base, jobID, triggerID string) (*flinkrest.SavepointResult, error)
	CancelJob(ctx context.Context, base, jobID string) error
	DisposeSavepoint(ctx context.Context, base, path string) (string, error)
	DisposalStatus(ctx context.Context, base, triggerID string) (*flinkrest.DisposalResult, error)
	Checkpoints(ctx context.Context, base, jobID string) (*flinkrest.CheckpointStats, error)
}

// Redeployer hands a job to the submit worker again (resume): an *image
// built* event for the image the job ran, on the image-built topic.
type Redeployer interface {
	Redeploy(ctx context.Context, ev *messages.ImageBuilt, id string) error
}

// opTask is one round of one operation: the action the operation's phase
// asks for, run off the loop.
type opTask struct {
	job    jobstore.Job // a copy: the loop owns the tracked one
	op     ops.Op
	action ops.Action
}

// opResult is an action's answer, for ops.Next.
type opResult struct {
	key       string
	op        ops.Op // the operation as dispatched
	outcome   ops.Outcome
	left      int               // objects left after Clean; -1 unknown
	jobState  messages.JobState // the job's state read by the action, if any
	triggerID string            // Flink's id of a disposal it accepted
}

// act runs task's action and returns its outcome.
func (t *Tracker) act(ctx context.Context, task opTask) opResult {
	r := opResult{key: task.job.Key, op: task.op, left: -1}
	j, op := &task.job, task.op
	var err error
	switch task.action {
	case ops.Trigger:
		r.outcome, r.triggerID, err = t.trigger(ctx, j, op)
	case ops.Poll:
		r.outcome, r.jobState, err = t.pollOp(ctx, j, op)
	case ops.Clean:
		r.outcome, r.left, err = t.cleanOp(ctx, j, op.Operation == messages.OpDelete)
	case ops.Redeploy:
		r.outcome, err = t.redeploy(ctx, j, op)
	}
	if err != nil {
		r.outcome = outcomeOf(err)
		if r.outcome.Kind == ops.Unavailable && ctx.Err() == nil {
			t.log.Debug("operation round", "job", j.Key, "request_id", op.RequestID, "action", string(task.action), "error", err.Error())
		}
	}
	return r
}

// outcomeOf classifies a failed call: Flink's refusal (4xx) fails the
// operation with Flink's words; anything else is retried.
func outcomeOf(err error) ops.Outcome {
	var fe *flinkrest.Error
	switch {
	case errors.Is(err, flinkrest.ErrOperationNotFound):
		return ops.Outcome{Kind: ops.NotFound}
	case errors.As(err, &fe) && fe.StatusCode >= 400 && fe.StatusCode < 500 && !fe.NotFlink:
		return ops.Outcome{Kind: ops.FlinkFailed, Message: truncate(err.Error(), 4096)}
	}
	return ops.Outcome{Kind: ops.Unavailable, Message: truncate(err.Error(), 1024)}
}

// trigger starts op in Flink with its trigger id.
func (t *Tracker) trigger(ctx context.Context, j *jobstore.Job, op ops.Op) (ops.Outcome, string, error) {
	var sp messages.SavepointOptions
	if op.Request != nil && op.Request.Savepoint != nil {
		sp = *op.Request.Savepoint
	}
	switch op.Operation {
	case messages.OpUpgrade, messages.OpRestart:
		if op.StopsWithSavepoint() {
			// A move names the directory (shared by both places).
			_, err := t.opFlink.StopWithSavepoint(ctx, j.RestEndpoint, j.FlinkJobID, flinkrest.StopRequest{TriggerID: op.TriggerID, Directory: sp.Directory})
			return ops.Outcome{Kind: ops.Accepted}, "", err
		}
		err := t.opFlink.CancelJob(ctx, j.RestEndpoint, j.FlinkJobID)
		if errors.Is(err, flinkrest.ErrJobTerminal) {
			return ops.Outcome{Kind: ops.Succeeded}, "", nil
		}
		return ops.Outcome{Kind: ops.Accepted}, "", err
	case messages.OpSuspend:
		_, err := t.opFlink.StopWithSavepoint(ctx, j.RestEndpoint, j.FlinkJobID, flinkrest.StopRequest{
			TriggerID: op.TriggerID, Directory: sp.Directory, Format: string(sp.Format), Drain: sp.Drain})
		return ops.Outcome{Kind: ops.Accepted}, "", err
	case messages.OpSavepoint:
		_, err := t.opFlink.TriggerSavepoint(ctx, j.RestEndpoint, j.FlinkJobID, flinkrest.SavepointRequest{
			TriggerID: op.TriggerID, Directory: sp.Directory, Format: string(sp.Format)})
		return ops.Outcome{Kind: ops.Accepted}, "", err
	case messages.OpCancel, messages.OpDelete:
		err := t.opFlink.CancelJob(ctx, j.RestEndpoint, j.FlinkJobID)
		if errors.Is(err, flinkrest.ErrJobTerminal) {
			return ops.Outcome{Kind: ops.Succeeded}, "", nil
		}
		return ops.Outcome{Kind: ops.Accepted}, "", err
	case messages.OpDispose:
		id, err := t.opFlink.DisposeSavepoint(ctx, j.RestEndpoint, op.Request.SavepointPath)
		return ops.Outcome{Kind: ops.Accepted}, id, err
	}
	return ops.Outcome{}, "", fmt.Errorf("operation %s has no Flink trigger", op.Operation)
}

// pollOp reads the status of op in Flink.
func (t *Tracker) pollOp(ctx context.Context, j *jobstore.Job, op ops.Op) (ops.Outcome, messages.JobState, error) {
	operation := op.Operation
	if op.Redeploys() { // polled as the suspend or the cancel it starts with
		operation = messages.OpCancel
		if op.StopsWithSavepoint() {
			operation = messages.OpSuspend
		}
	}
	switch operation {
	case messages.OpSuspend, messages.OpSavepoint:
		res, err := t.opFlink.SavepointStatus(ctx, j.RestEndpoint, j.FlinkJobID, op.TriggerID)
		if errors.Is(err, flinkrest.ErrOperationNotFound) {
			// Flink forgets finished operations (rest.async.store-duration)
			// and a restarted JobManager knows none: a savepoint the
			// operation took is in the checkpoint history.
			if path, ok := t.savepointSince(ctx, j, op.RequestedAt); ok {
				return ops.Outcome{Kind: ops.Succeeded, Location: path}, "", nil
			}
		}
		if err != nil {
			return ops.Outcome{}, "", err
		}
		switch {
		case !res.Done:
			return ops.Outcome{Kind: ops.InProgress}, "", nil
		case res.Failure != nil:
			return ops.Outcome{Kind: ops.FlinkFailed, Message: failureText(res.Failure)}, "", nil
		}
		return ops.Outcome{Kind: ops.Succeeded, Location: res.Location}, "", nil
	case messages.OpCancel, messages.OpDelete:
		jobs, err := t.flink.JobsOverview(ctx, j.RestEndpoint)
		if err != nil {
			return ops.Outcome{}, "", err
		}
		for _, o := range jobs {
			if o.ID == j.FlinkJobID {
				st := messages.JobState(o.State)
				if st.IsGloballyTerminal() {
					return ops.Outcome{Kind: ops.Succeeded, Location: t.latestCheckpoint(ctx, j, op)}, st, nil
				}
				return ops.Outcome{Kind: ops.InProgress}, st, nil
			}
		}
		return ops.Outcome{Kind: ops.Succeeded}, "", nil // not listed: nothing left to cancel
	case messages.OpDispose:
		res, err := t.opFlink.DisposalStatus(ctx, j.RestEndpoint, op.TriggerID)
		switch {
		case err != nil:
			return ops.Outcome{}, "", err
		case !res.Done:
			return ops.Outcome{Kind: ops.InProgress}, "", nil
		case res.Failure != nil && !savepointGone(res.Failure):
			return ops.Outcome{Kind: ops.FlinkFailed, Message: failureText(res.Failure)}, "", nil
		}
		// Disposed, or already gone from storage (deleted by hand, or by
		// an earlier disposal whose record a crash lost): either way the
		// history entry goes.
		return ops.Outcome{Kind: ops.Succeeded}, "", nil
	}
	return ops.Outcome{}, "", fmt.Errorf("operation %s has no Flink status", op.Operation)
}

// latestCheckpoint returns, for an operation that restores from the
// job's latest completed checkpoint (ops.Op.RestoresLatestCheckpoint),
// the one Flink reports once the job is cancelled; "" for the others, or
// when Flink does not tell (the one recorded with the operation stays).
func (t *Tracker) latestCheckpoint(ctx context.Context, j *jobstore.Job, op ops.Op) string {
	if !op.RestoresLatestCheckpoint() {
		return ""
	}
	stats, err := t.opFlink.Checkpoints(ctx, j.RestEndpoint, j.FlinkJobID)
	if err != nil || stats == nil || stats.Latest.Completed == nil {
		return ""
	}
	return stats.Latest.Completed.ExternalPath
}

// savepointSince returns the latest completed savepoint of j's checkpoint
// history triggered at or after since (a second of clock skew allowed).
func (t *Tracker) savepointSince(ctx context.Context, j *jobstore.Job, since time.Time) (string, bool) {
	stats, err := t.opFlink.Checkpoints(ctx, j.RestEndpoint, j.FlinkJobID)
	if err != nil || stats == nil {
		return "", false
	}
	var best *flinkrest.Checkpoint
	for i := range stats.History {
		c := &stats.History[i]
		if c.IsSavepoint && c.Kind == flinkrest.KindCompleted && c.ExternalPath != "" && !c.TriggerTime.Before(since.Add(-time.Second)) &&
			(best == nil || c.TriggerTime.After(best.TriggerTime)) {
			best = c
		}
	}
	if s := stats.Latest.Savepoint; best == nil && s != nil && s.ExternalPath != "" && !s.TriggerTime.Before(since.Add(-time.Second)) {
		best = s
	}
	if best == nil {
		return "", false
	}
	return best.ExternalPath, true
}

// savepointGone reports a disposal Flink failed because the savepoint's
// metadata is not there (FileNotFoundException): the savepoint, which the
// history knew, no longer exists.
func savepointGone(f *flinkrest.Failure) bool {
	return strings.Contains(f.Class, "FileNotFoundException") || strings.Contains(f.RootCause, "FileNotFoundException")
}

// failureText is Flink's root cause of a failed operation. An exception
// without a cause is its own root cause, "<class>: <message>" like
// f.Error() (not f.Message): written once.
func failureText(f *flinkrest.Failure) string {
	if f.RootCause != "" && f.RootCause != f.Error() {
		return truncate(f.Error()+"; root cause: "+f.RootCause, 4096)
	}
	return truncate(f.Error(), 4096)
}

// cleanOp removes j's cluster from Kubernetes and counts what is left;
// forget (a delete) removes the submit worker's run mark too.
func (t *Tracker) cleanOp(ctx context.Context, j *jobstore.Job, forget bool) (ops.Outcome, int, error) {
	if t.clusters == nil {
		return ops.Outcome{Kind: ops.Succeeded}, 0, nil // no Kubernetes watched: nothing flinkferry can remove
	}
	cl, err := t.clusters.For(j.Job)
	if err != nil {
		return ops.Outcome{}, -1, err
	}
	if err := cleanCluster(ctx, cl.Kube, j.Job.Namespace, j.Job.ClusterID); err != nil {
		return ops.Outcome{}, -1, err
	}
	if forget {
		if err := deleteRunMark(ctx, cl.Kube, j.Job.Namespace, j.Job.ClusterID); err != nil {
			return ops.Outcome{}, -1, err
		}
	}
	n, err := objectsLeft(ctx, cl.Kube, j.Job.Namespace, j.Job.ClusterID)
	if err != nil {
		return ops.Outcome{}, -1, err
	}
	return ops.Outcome{Kind: ops.Succeeded}, n, nil
}

// redeploy hands the job's stored run to the submit worker again,
// restoring from op.Location: an *image built* event under the resume's
// (restart's) request id, which becomes the new run's.
func (t *Tracker) redeploy(ctx context.Context, j *jobstore.Job, op ops.Op) (ops.Outcome, error) {
	if t.redeployer == nil {
		return ops.Outcome{Kind: ops.Refused, Message: "this track worker cannot publish to the image-built topic"}, nil
	}
	if op.Operation == messages.OpUpgrade {
		return t.deployUpgrade(ctx, j, op)
	}
	run, err := t.store.Run(ctx, j.Key)
	if err != nil {
		return ops.Outcome{}, err
	}
	if run.Request == nil {
		return ops.Outcome{Kind: ops.Refused, Message: "the job's deployed request is not stored"}, nil
	}
	if run.Mode == messages.ModeApplication {
		if wait, err := t.awaitOldCluster(ctx, j); wait != nil || err != nil {
			return *wait, err
		}
	}
	req := *run.Request
	req.RequestID = op.RequestID
	req.Program.Savepoint = nil
	if u := req.Upgrade; u != nil && u.From != nil {
		// The run of a moved job: deployed again where it is, not a move.
		nu := *u
		nu.From = nil
		req.Upgrade = &nu
	}
	if run.Mode == messages.ModeSession {
		// A session cluster keeps the ended job under its id (Flink's job
		// result store refuses the id again): the resumed job gets the id
		// derived from the resume's request id.
		req.Program.FlinkJobID = ""
	}
	if op.Location != "" {
		sp := &messages.Savepoint{Path: op.Location}
		if r := op.Request; r != nil && r.Restore != nil {
			sp.AllowNonRestoredState, sp.RestoreMode = r.Restore.AllowNonRestoredState, r.Restore.RestoreMode
		}
		req.Program.Savepoint = sp
	}
	ev := &messages.ImageBuilt{
		RequestID: op.RequestID, Job: run.Job, Mode: run.Mode, Image: run.Image,
		JarArtifact: run.JarArtifact, JarName: run.JarName, JarSHA256: run.JarSHA256, Labels: run.Labels, Time: t.now().UTC(), Request: req,
	}
	if err := ev.Validate(); err != nil {
		return ops.Outcome{Kind: ops.Refused, Message: truncate("the stored run cannot be deployed again: "+err.Error(), 4096)}, nil
	}
	if err := t.redeployer.Redeploy(ctx, ev, j.Key+"."+string(op.Operation)+"."+op.RequestID); err != nil {
		return ops.Outcome{}, err
	}
	return ops.Outcome{Kind: ops.Published}, nil
}

// noOpFlink answers every operation call as unavailable: a tracker whose
// Flink client cannot act (a test double) records operations and lets
// them time out.
type noOpFlink struct{}

var errNoOpFlink = errors.New("this tracker's Flink client cannot act on jobs")

func (noOpFlink) TriggerSavepoint(context.Context, string, string, flinkrest.SavepointRequest) (string, error) {
	return "", errNoOpFlink
}
func (noOpFlink) StopWithSavepoint(context.Context, string, string, flinkrest.StopRequest) (string, error) {
	return "", errNoOpFlink
}
func (noOpFlink) SavepointStatus(context.Context, string, string, string) (*flinkrest.SavepointResult, error) {
	return nil, errNoOpFlink
}
func (noOpFlink) CancelJob(context.Context, string, string) error { return errNoOpFlink }
func (noOpFlink) DisposeSavepoint(context.Context, string, string) (string, error) {
	return "", errNoOpFlink
}
func (noOpFlink) DisposalStatus(context.Context, string, string) (*flinkrest.DisposalResult, error) {
	return nil, errNoOpFlink
}
func (noOpFlink) Checkpoints(context.Context, string, string) (*flinkrest.CheckpointStats, error) {
	return nil, errNoOpFlink
}

// awaitOldCluster removes what is left of j's application cluster (an
// ended cluster kept after a failure or for FINISHED_CLUSTER_RETENTION, an
// upgraded one): a new run gets a cluster of its own, never the old one's
// objects and TaskManagers. It returns the outcome to report while objects
// remain, nil once none does.
func (t *Tracker) awaitOldCluster(ctx context.Context, j *jobstore.Job) (*ops.Outcome, error) {
	_, left, err := t.cleanOp(ctx, j, false)
	switch {
	case err != nil:
		return &ops.Outcome{}, err
	case left > 0:
		return &ops.Outcome{Kind: ops.Unavailable, Message: fmt.Sprintf("waiting for the old cluster's %d objects to be removed", left)}, nil
	}
	return nil, nil
}

// deployUpgrade hands an upgrade's new run to the submit worker once the
// old cluster is gone: its image built event with upgrade_of set and, unless
// the request names a savepoint itself, the restore point the upgrade chose.
func (t *Tracker) deployUpgrade(ctx context.Context, j *jobstore.Job, op ops.Op) (ops.Outcome, error) {
	if op.Upgrade == nil {
		return ops.Outcome{Kind: ops.Refused, Message: "the upgrade's request is not stored"}, nil
	}
	if wait, err := t.awaitOldCluster(ctx, j); wait != nil || err != nil {
		return *wait, err
	}
	ev := *op.Upgrade
	ev.UpgradeOf, ev.Time = op.Run, t.now().UTC()
	if ev.Job.Key() != j.Key { // a move: the target waits for this job's cluster to be gone
		from := j.Job
		ev.MovedFrom = &from
	}
	if op.Location != "" && ev.Request.Program != nil && ev.Request.Program.Savepoint == nil {
		p := *ev.Request.Program
		p.Savepoint = &messages.Savepoint{Path: op.Location}
		ev.Request.Program = &p
	}
	if err := ev.Validate(); err != nil {
		return ops.Outcome{Kind: ops.Refused, Message: truncate("the upgrade cannot be deployed: "+err.Error(), 4096)}, nil
	}
	if err := t.redeployer.Redeploy(ctx, &ev, j.Key+".upgrade."+op.RequestID); err != nil {
		return ops.Outcome{}, err
	}
	return ops.Outcome{Kind: ops.Published}, nil
}
