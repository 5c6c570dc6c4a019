package track

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// ControlStore is what the control handler needs from Redis
// (workers/track/jobstore.Store).
type ControlStore interface {
	Get(ctx context.Context, key string) (*jobstore.Job, error)
	Run(ctx context.Context, key string) (*jobstore.Run, error)
	Savepoints(ctx context.Context, key string, n int) ([]jobstore.SavepointEntry, error)
	HasSavepoint(ctx context.Context, key, path string) (bool, error)
	RecordOp(ctx context.Context, key string, op ops.Op, contentHash string) (jobstore.RecordResult, error)
	MarkOp(ctx context.Context, key string) error
	UpdateOp(ctx context.Context, key, requestID string, expectPhase ops.Phase, next ops.Op, step *jobstore.OpStep) (bool, error)
}

// RefusalPublisher publishes a refused control request's event on the
// status topic with a stable id.
type RefusalPublisher interface {
	PublishRefusal(ctx context.Context, ev *messages.ControlRefused, id string) error
}

// ControlHandler records control requests as operations of their jobs
// (docs/day2.md). It never waits for Flink: the shard owner's loop
// advances the operation. A request that cannot be recorded is refused:
// a ControlRefused event on the status topic, and the request on the
// dead-letter topic with the same reason.
type ControlHandler struct {
	Store    ControlStore
	Refusals RefusalPublisher
	// Timeout is the operation's deadline after its request
	// (TrackConfig.OperationTimeout); a savepoint's timeout_seconds
	// overrides it.
	Timeout time.Duration
	// SavepointDirs allow-lists the URI prefixes a request may name as a
	// savepoint directory or a restore path (TrackConfig.SavepointDirs);
	// empty allows any.
	SavepointDirs []string
	// SharedSavepointDirs are the local-scheme savepoint directories every
	// Kubernetes cluster reaches (TrackConfig.SharedSavepointDirs): a move
	// may take its savepoint there.
	SharedSavepointDirs []string
	// Now defaults to time.Now.
	Now func() time.Time
}

// Handle records one control request. A redelivery is a no-op; the same
// request id with other content is refused.
func (h *ControlHandler) Handle(ctx context.Context, req *messages.ControlRequested) ([]bus.Out, error) {
	now := time.Now().UTC()
	if h.Now != nil {
		now = h.Now().UTC()
	}
	key := req.JobKey()
	hash, err := contentHash(req)
	if err != nil {
		return nil, failure.Permanent(bus.ReasonInvalidOutput, err)
	}
	j, err := h.Store.Get(ctx, key)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		return nil, h.refuse(ctx, req, now, messages.RefusedJobNotFound, "flinkferry tracks no job "+key)
	case err != nil:
		return nil, fmt.Errorf("reading job %s: %w", key, err)
	}
	op := ops.Op{
		RequestID: req.RequestID, Request: req, Run: j.RequestID, Operation: req.Operation, Mode: j.Mode,
		Phase: ops.Requested, RequestedAt: now, Deadline: now.Add(h.timeout(req)),
	}
	if req.Operation != messages.OpDispose {
		op.TriggerID = flinkrest.TriggerID(req.RequestID)
	}
	// A redelivery of the job's operation is recorded (a no-op) whatever
	// the job's state has become since.
	if j.Op == nil || j.Op.RequestID != req.RequestID {
		msg, err := h.check(ctx, j, req, &op)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			return nil, h.refuse(ctx, req, now, messages.RefusedNotAllowed, msg)
		}
	}
	res, err := h.Store.RecordOp(ctx, key, op, hash)
	if err != nil {
		return nil, err
	}
	return h.recorded(ctx, req, now, res)
}

// recorded turns RecordOp's outcome into the handler's answer: nothing
// for a recorded (or redelivered) operation, else its refusal.
func (h *ControlHandler) recorded(ctx context.Context, req *messages.ControlRequested, now time.Time, res jobstore.RecordResult) ([]bus.Out, error) {
	key := req.JobKey()
	switch res.Outcome {
	case jobstore.OpRecorded, jobstore.OpDuplicate:
		if cur := res.Current; cur != nil && cur.RequestID == req.RequestID && cur.Phase != ops.Done {
			if err := h.Store.MarkOp(ctx, key); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case jobstore.OpConflict:
		return nil, h.refuse(ctx, req, now, messages.RefusedConflict, fmt.Sprintf(
			"request id %s is known with content %s; this request has content %s", req.RequestID, res.StoredHash, res.Hash))
	case jobstore.OpInProgress:
		msg := "another operation of the job is in flight"
		if c := res.Current; c != nil {
			msg = fmt.Sprintf("operation %s (request %s) of the job is in flight", c.Operation, c.RequestID)
		}
		return nil, h.refuse(ctx, req, now, messages.RefusedInProgress, msg)
	case jobstore.OpJobNotFound:
		return nil, h.refuse(ctx, req, now, messages.RefusedJobNotFound, "flinkferry tracks no job "+key)
	}
	return nil, fmt.Errorf("recording operation %s of %s: unexpected outcome %q", req.RequestID, key, res.Outcome)
}

// timeout is the operation's deadline after its request.
func (h *ControlHandler) timeout(req *messages.ControlRequested) time.Duration {
	if req.TimeoutSeconds > 0 {
		return time.Duration(req.TimeoutSeconds) * time.Second
	}
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 30 * time.Minute
}

// check returns why req is not allowed on j ("" when it is), and sets
// what the operation needs from the store (resume's restore path).
func (h *ControlHandler) check(ctx context.Context, j *jobstore.Job, req *messages.ControlRequested, op *ops.Op) (string, error) {
	if msg := h.checkPaths(req); msg != "" {
		return msg, nil
	}
	if movedAway(j) && j.Op.Phase == ops.Done && j.Op.Result == ops.Completed && (req.Operation == messages.OpResume || req.Operation == messages.OpRestart) {
		return "the job moved to " + j.Op.Upgrade.Job.Key() + ": act on it there", nil
	}
	live := !j.State.IsTerminal() && j.State != messages.StateSuspended && !settled(j)
	switch req.Operation {
	case messages.OpCancel, messages.OpSuspend, messages.OpSavepoint:
		if j.Mode == messages.ModeSessionCluster {
			return fmt.Sprintf("operation %s acts on a job; %s is a session cluster (delete it, or act on its jobs)", req.Operation, j.Key), nil
		}
		if !live {
			return fmt.Sprintf("the job is %s: there is nothing to %s", j.State, req.Operation), nil
		}
	case messages.OpDelete:
		if j.Mode == messages.ModeSessionCluster && !req.Force && j.Metrics.RunningJobs > 0 && live {
			return fmt.Sprintf("the session cluster runs %d jobs: cancel them first, or set force to delete it with them", j.Metrics.RunningJobs), nil
		}
	case messages.OpDispose:
		if !live || j.RestEndpoint == "" {
			return fmt.Sprintf("the job is %s: savepoints are disposed through the job's running JobManager; delete it from storage instead", j.State), nil
		}
		ok, err := h.Store.HasSavepoint(ctx, j.Key, req.SavepointPath)
		if err != nil {
			return "", err
		}
		if !ok {
			return "the savepoint is not in the job's history (flinkferry savepoints " + j.Job.ClusterID + ")", nil
		}
	case messages.OpResume:
		return h.checkResume(ctx, j, req, op)
	case messages.OpRestart:
		return checkRestart(ctx, h.Store, j, op)
	}
	return "", nil
}

// checkResume allows a resume of a job that no longer runs, with a
// stored request and a state to restore from, and records that path in
// op.Location.
func (h *ControlHandler) checkResume(ctx context.Context, j *jobstore.Job, req *messages.ControlRequested, op *ops.Op) (string, error) {
	if j.Mode == messages.ModeSessionCluster {
		return "a session cluster is not resumed: submit it again", nil
	}
	if !j.State.IsTerminal() && j.State != messages.StateSuspended && j.State != messages.StateLost {
		return fmt.Sprintf("the job is %s: suspend or cancel it before resuming it", j.State), nil
	}
	if msg, err := checkStoredRun(ctx, h.Store, j); msg != "" || err != nil {
		return msg, err
	}
	return restorePoint(ctx, h.Store, j, op)
}

// runStore reads a job's stored run and savepoint history (the control
// handler's store, and the tracker's for automatic restarts).
type runStore interface {
	Run(ctx context.Context, key string) (*jobstore.Run, error)
	Savepoints(ctx context.Context, key string, n int) ([]jobstore.SavepointEntry, error)
}

// checkStoredRun returns why j's stored run cannot be deployed again
// (resume, restart), "" when it can.
func checkStoredRun(ctx context.Context, store runStore, j *jobstore.Job) (string, error) {
	run, err := store.Run(ctx, j.Key)
	if err != nil {
		return "", err
	}
	if run.Request == nil || (j.Mode == messages.ModeApplication && run.Image == "") {
		return "the job's deployed request is not stored (deployed by an older flinkferry, or recovered from Kubernetes): submit it again", nil
	}
	if j.Mode == messages.ModeSession && run.JarArtifact == "" {
		return "the session job's jar artifact is not stored: submit it again", nil
	}
	var lost []string
	for _, f := range run.Redacted {
		if f != "program.jar.url" && !strings.HasPrefix(f, "program.savepoint") {
			lost = append(lost, f)
		}
	}
	if len(lost) > 0 {
		return "the stored request lost secrets flinkferry does not keep (" + strings.Join(lost[:min(len(lost), 8)], ", ") + "): submit it again", nil
	}
	return "", nil
}

// restorePoint chooses where op (a resume, or a restart of a job that
// does not run, or from a checkpoint or path) restores from, in
// op.Location: the latest completed savepoint of the history, the latest
// completed checkpoint recorded, the request's path, or nothing. It
// returns why there is none to choose.
func restorePoint(ctx context.Context, store runStore, j *jobstore.Job, op *ops.Op) (string, error) {
	switch op.RestoreFrom() {
	case messages.RestoreFromSavepoint:
		sps, err := store.Savepoints(ctx, j.Key, 100)
		if err != nil {
			return "", err
		}
		for _, sp := range sps {
			if sp.Result == ops.Completed && sp.Path != "" {
				op.Location = sp.Path
				return "", nil
			}
		}
		return "the job has no completed savepoint to restore from (restore from checkpoint, a path, or none)", nil
	case messages.RestoreFromCheckpoint:
		if j.Checkpoints.LastCompletedPath == "" {
			return "no completed checkpoint of the job is recorded (restore from savepoint, a path, or none)", nil
		}
		op.Location = j.Checkpoints.LastCompletedPath
	case messages.RestoreFromPath:
		op.Location = op.Request.Restore.Path
	}
	return "", nil
}

// checkRestart allows a restart of an application or session job whose
// request is stored. A running job restoring from a savepoint is stopped
// with a new one (the Flink Kubernetes Operator's restartNonce with
// upgradeMode savepoint); any other restore point is chosen now, and a
// running job is then cancelled. A job that does not run any more
// (op.Offline) is deployed again once its cluster is removed.
func checkRestart(ctx context.Context, store runStore, j *jobstore.Job, op *ops.Op) (string, error) {
	if j.Mode == messages.ModeSessionCluster {
		return "a session cluster is not restarted: restart its jobs, or delete it and submit it again", nil
	}
	if msg, err := checkStoredRun(ctx, store, j); msg != "" || err != nil {
		return msg, err
	}
	op.Offline = !restartLive(j)
	if !op.Offline && op.RestoreFrom() == messages.RestoreFromSavepoint {
		if j.State != messages.StateRunning {
			return fmt.Sprintf("the job is %s: Flink takes a savepoint of a RUNNING job only; restart it from checkpoint, a path or none", j.State), nil
		}
		return "", nil // the savepoint the restart takes
	}
	return restorePoint(ctx, store, j, op)
}

// restartLive reports whether a restart of j stops its job in Flink first
// (it runs, or may), rather than only deploying it again: not an
// application job whose JobManager does not answer yet (or any more), whose
// cluster is removed instead. A run an upgrade
// or restart handed over (its cluster removed) whose successor never
// registered (its deploy failed) does not run.
func restartLive(j *jobstore.Job) bool {
	if j.Mode == messages.ModeApplication {
		switch j.State {
		case messages.StateStarting, messages.StateK8sInitializing, messages.StateSilent:
			// No JobManager answers: removing the cluster stops the job
			// (its checkpoints stay, as no cancel cleans them up).
			return false
		}
	}
	return !j.State.IsTerminal() && j.State != messages.StateSuspended && j.State != messages.StateLost && !settled(j) && !handedOver(j)
}

// handedOver reports whether j's run was stopped and handed over by an
// upgrade or restart whose new run has not registered.
func handedOver(j *jobstore.Job) bool {
	op := j.Op
	return op != nil && op.Redeploys() && op.Phase == ops.Done && op.Result == ops.Completed && op.Run == j.RequestID && !movedAway(j)
}

// checkPaths refuses a savepoint directory or restore path outside the
// allow-list: a control request must not write a job's state where its
// platform does not keep state, nor load state from there.
func (h *ControlHandler) checkPaths(req *messages.ControlRequested) string {
	if len(h.SavepointDirs) == 0 {
		return ""
	}
	var paths []string
	if s := req.Savepoint; s != nil && s.Directory != "" {
		paths = append(paths, s.Directory)
	}
	if r := req.Restore; r != nil && r.Path != "" {
		paths = append(paths, r.Path)
	}
	for _, p := range paths {
		if !admission.AllowedLocation(p, h.SavepointDirs) {
			return fmt.Sprintf("%q is not under an allowed savepoint location (%s)", truncate(p, 256), strings.Join(h.SavepointDirs, ", "))
		}
	}
	return ""
}

// refuse publishes the refusal and returns the permanent error that
// dead-letters the request.
func (h *ControlHandler) refuse(ctx context.Context, req *messages.ControlRequested, now time.Time, reason, msg string) error {
	ev := &messages.ControlRefused{RequestID: req.RequestID, Job: req.Job, Operation: req.Operation, Reason: reason, Message: msg, Time: now}
	if h.Refusals != nil {
		if err := h.Refusals.PublishRefusal(ctx, ev, req.JobKey()+".refused."+req.RequestID+"."+reason); err != nil {
			return fmt.Errorf("publishing the refusal of %s: %w", req.RequestID, err)
		}
	}
	return failure.Permanentf(reason, "control request %s (%s of %s) refused: %s", req.RequestID, req.Operation, req.JobKey(), msg)
}

// contentHash is the request's content hash (messages.ContentHash).
func contentHash(req *messages.ControlRequested) (string, error) {
	return messages.ContentHash(req)
}

// HandleAny dispatches the control topic's event types: control requests
// and the submit worker's upgrades.
func (h *ControlHandler) HandleAny(ctx context.Context, ev messages.Event) ([]bus.Out, error) {
	switch e := ev.(type) {
	case *messages.ControlRequested:
		return h.Handle(ctx, e)
	case *messages.UpgradeRequested:
		return h.HandleUpgrade(ctx, e)
	case *messages.DeployFailed:
		return nil, h.HandleDeployFailed(ctx, e)
	}
	return nil, failure.Permanentf(bus.ReasonUnexpectedEventType, "the control topic carries no %s events", ev.EventType())
}

// HandleUpgrade records an upgrade of the job's run (docs/upgrades.md):
// the restore point is chosen here for a job that no longer runs, and by
// the savepoint the operation takes for one that does.
func (h *ControlHandler) HandleUpgrade(ctx context.Context, u *messages.UpgradeRequested) ([]bus.Out, error) {
	now := time.Now().UTC()
	if h.Now != nil {
		now = h.Now().UTC()
	}
	req := &messages.ControlRequested{RequestID: u.RequestID, Job: u.Job, Operation: messages.OpUpgrade}
	key := u.JobKey()
	j, err := h.Store.Get(ctx, key)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		return nil, h.refuse(ctx, req, now, messages.RefusedJobNotFound, "flinkferry tracks no job "+key+"; its cluster runs request "+u.Running)
	case err != nil:
		return nil, fmt.Errorf("reading job %s: %w", key, err)
	}
	if j.RequestID == u.RequestID {
		return nil, nil // upgraded already: the new run is registered
	}
	op := ops.Op{
		RequestID: u.RequestID, TriggerID: flinkrest.TriggerID(u.RequestID), Run: j.RequestID, Operation: messages.OpUpgrade,
		Mode: j.Mode, Upgrade: &u.Image, Phase: ops.Requested, RequestedAt: now, Deadline: now.Add(h.timeout(req)),
	}
	if j.Op == nil || j.Op.RequestID != u.RequestID {
		if msg, err := h.checkUpgrade(ctx, j, &op); err != nil {
			return nil, err
		} else if msg != "" {
			return nil, h.refuse(ctx, req, now, messages.RefusedNotAllowed, msg)
		}
		if u.Target != nil {
			if msg, err := h.checkMove(ctx, j, u, &op); err != nil {
				return nil, err
			} else if msg != "" {
				return nil, h.refuse(ctx, req, now, messages.RefusedSavepointNotShared, msg)
			}
		}
	}
	hash, err := messages.ContentHash(&u.Image.Request)
	if err != nil {
		return nil, failure.Permanent(bus.ReasonInvalidOutput, err)
	}
	res, err := h.Store.RecordOp(ctx, key, op, hash)
	if err != nil {
		return nil, err
	}
	return h.recorded(ctx, req, now, res)
}

// checkUpgrade refuses what an upgrade cannot do and chooses the restore
// point of a job that does not run (op.Offline).
func (h *ControlHandler) checkUpgrade(ctx context.Context, j *jobstore.Job, op *ops.Op) (string, error) {
	if j.Mode != messages.ModeApplication {
		return "only application jobs are upgraded", nil
	}
	var lost []string
	for _, f := range jobstore.Redactions(&op.Upgrade.Request) {
		if f != "program.jar.url" {
			lost = append(lost, f)
		}
	}
	if len(lost) > 0 {
		return "the new request carries secrets flinkferry does not keep (" + strings.Join(lost[:min(len(lost), 8)], ", ") +
			"): reference Kubernetes Secrets instead, or suspend the job and submit the request under a new cluster id", nil
	}
	mode, fallback := op.UpgradeMode(), false
	if o := op.Upgrade.Request.Upgrade; o != nil {
		fallback = o.AllowFallback
	}
	live := !j.State.IsTerminal() && j.State != messages.StateSuspended && j.State != messages.StateLost && !settled(j)
	op.Offline = !live
	if mode == messages.UpgradeLastState && j.Checkpoints.LastCompletedPath == "" {
		return "upgrade mode last-state needs a completed checkpoint; none of the job is recorded", nil
	}
	if mode == messages.UpgradeLastState {
		op.Location = j.Checkpoints.LastCompletedPath
	}
	if live || mode != messages.UpgradeSavepoint {
		return "", nil
	}
	sps, err := h.Store.Savepoints(ctx, j.Key, 100)
	if err != nil {
		return "", err
	}
	for _, sp := range sps {
		if sp.Result == ops.Completed && sp.Path != "" {
			op.Location = sp.Path
			return "", nil
		}
	}
	if fallback && j.Checkpoints.LastCompletedPath != "" {
		op.Location = j.Checkpoints.LastCompletedPath
		return "", nil
	}
	return fmt.Sprintf("the job is %s, so no savepoint can be taken, and its history has none: set upgrade.allow_fallback (latest checkpoint) or upgrade.mode stateless", j.State), nil
}
