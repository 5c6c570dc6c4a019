package track

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// Automatic restarts (restart_policy) on simulated time: the tracker's
// clock and the simulated JobManagers' move together (skewClock).

// withPolicy sets the run's restart policy.
func withPolicy(p messages.RestartPolicy) func(*messages.Deployed) {
	return func(d *messages.Deployed) { d.Request.RestartPolicy = &p }
}

// restartsOf makes Flink restart job n times, two seconds apart.
func restartsOf(e *opsEnv, j *flinksim.Job, n int) {
	for range n {
		j.SetState(flinksim.Restarting)
		e.clock.Advance(time.Second)
		j.SetState(flinksim.Running)
		e.clock.Advance(time.Second)
	}
}

// autoOp waits for the job's automatic restart other than not, done.
func autoOp(t *testing.T, e *opsEnv, key, not string) *jobstore.Job {
	t.Helper()
	return waitJob(t, e.store, key, 15*time.Second, "an automatic restart done", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.Operation == messages.OpRestart && strings.HasPrefix(j.Op.RequestID, autoPrefix) &&
			j.Op.RequestID != not && j.Op.Phase == ops.Done
	})
}

// TestAutoRestartOnRestarts: a job Flink restarts three times within a
// minute, its policy allowing two, is restarted once from its latest
// checkpoint, with two tracker replicas running: one operation, one new
// run, its event RUNNING -> REDEPLOYING reason auto_restart_restarts. The
// new run restarting as often at once is not restarted again before the
// window has passed since it was deployed; after, it is.
func TestAutoRestartOnRestarts(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	const ns, id = "flink", "ar1"
	jobID := jobIDOf(50)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
		Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second}}, withPolicy(messages.RestartPolicy{MaxRestarts: 2, WindowSeconds: 60}))
	redeploys := &redeployLog{}
	e.startRedeploying(t, "r1", e.flink(), redeploys)
	e.startRedeploying(t, "r2", e.flink(), redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	e.clock.Advance(35 * time.Second)
	waitJob(t, e.store, key, 10*time.Second, "a completed checkpoint recorded", func(j *jobstore.Job) bool { return j.Checkpoints.LastCompletedPath != "" })

	restartsOf(e, jm.Job(jobID), 2) // as many as allowed: nothing happens
	time.Sleep(2 * time.Second)
	if j, _ := e.store.Get(context.Background(), key); j.Op != nil {
		t.Fatalf("operation %+v after restarts the policy allows", *j.Op)
	}
	restartsOf(e, jm.Job(jobID), 1)
	j := autoOp(t, e, key, "")
	first := j.Op.RequestID
	if j.Op.Result != ops.Completed || !strings.HasPrefix(first, "auto-restarts-") || j.Op.Location == "" ||
		!strings.Contains(j.Op.Location, "/chk-") {
		t.Fatalf("operation %+v, want a completed automatic restart from the latest checkpoint", *j.Op)
	}
	evs := redeploys.all()
	if len(evs) != 1 || evs[0].RequestID != first || evs[0].Request.Program.Savepoint == nil || evs[0].Request.Program.Savepoint.Path != j.Op.Location {
		t.Fatalf("image built events %+v, want one for %s restoring from %s", evs, first, j.Op.Location)
	}
	waitUntil(t, 5*time.Second, "the auto_restart_restarts event", func() bool { return len(opEvents(e.events, key, first)) >= 2 })
	steps := opEvents(e.events, key, first)
	if s := steps[0]; s.From != messages.StateRunning || s.To != messages.StateRedeploying || s.Reason != "auto_restart_restarts" ||
		s.Operation.Status != messages.OperationRequested || !strings.Contains(s.Message, "more than 2 times within 60 s") {
		t.Errorf("first step of the automatic restart:%s\nwant RUNNING>REDEPLOYING auto_restart_restarts, requested, explained", describe(steps))
	}

	// The new run restarts as often at once: not restarted again within the window.
	e.registerNewRun(t, evs[0], jm, restURL(ns, id))
	j = waitJob(t, e.store, key, 10*time.Second, "the new run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == first && j.State == messages.StateRunning
	})
	if j.RestartPolicy == nil || j.RestartPolicy.MaxRestarts != 2 {
		t.Fatalf("the new run's restart policy %+v, want the request's", j.RestartPolicy)
	}
	newJob := jm.Job(evs[0].Request.FlinkJobID())
	restartsOf(e, newJob, 3)
	time.Sleep(2 * time.Second)
	if j, _ := e.store.Get(context.Background(), key); j.Op.RequestID != first || len(redeploys.all()) != 1 {
		t.Fatalf("a second automatic restart (%s) within the window of the first", j.Op.RequestID)
	}
	// After the window: three more restarts restart it again.
	e.clock.Advance(61 * time.Second)
	restartsOf(e, newJob, 3)
	j = autoOp(t, e, key, first)
	if j.Op.Run != first || j.Op.Result != ops.Completed {
		t.Fatalf("second automatic restart %+v, want one of the run %s, completed", *j.Op, first)
	}
	if n := len(redeploys.all()); n != 2 {
		t.Fatalf("%d image built events, want 2", n)
	}
}

// TestAutoRestartOnCheckpointAge: a RUNNING job whose checkpoints stop
// completing is restarted once none completed for the policy's age; with
// no checkpoint recorded it restores from the latest savepoint of its
// history. Before that age nothing happens.
func TestAutoRestartOnCheckpointAge(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "ar2"
	jobID := jobIDOf(51)
	key, _ := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
		Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second, Duration: time.Hour}}, withPolicy(messages.RestartPolicy{CheckpointAgeSeconds: 120}))
	const sp = "s3://flink/savepoints/savepoint-ar2-1"
	if _, err := e.store.AddSavepoint(ctx, key, jobstore.SavepointEntry{Time: e.clock.Now(), Trigger: jobstore.TriggerManual, RequestID: "sp-ar2",
		Path: sp, Result: ops.Completed, Format: messages.FormatCanonical}); err != nil {
		t.Fatal(err)
	}
	f, redeploys := e.flink(), &redeployLog{}
	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	e.clock.Advance(90 * time.Second)
	time.Sleep(2 * time.Second)
	if j, _ := e.store.Get(ctx, key); j.Op != nil {
		t.Fatalf("operation %+v before the checkpoint age passed", *j.Op)
	}
	e.clock.Advance(40 * time.Second)
	j := autoOp(t, e, key, "")
	if !strings.HasPrefix(j.Op.RequestID, "auto-checkpoint_age-") || j.Op.Location != sp || j.Op.Result != ops.Completed {
		t.Fatalf("operation %+v, want a completed automatic restart from %s", *j.Op, sp)
	}
	if got := f.n("cancel", jobID); got < 1 {
		t.Error("the job was never cancelled")
	}
	waitUntil(t, 5*time.Second, "the auto_restart_checkpoint_age event", func() bool { return len(opEvents(e.events, key, j.Op.RequestID)) >= 2 })
	if s := opEvents(e.events, key, j.Op.RequestID)[0]; s.Reason != "auto_restart_checkpoint_age" || s.To != messages.StateRedeploying ||
		!strings.Contains(s.Message, "120 s") {
		t.Errorf("first step %s>%s %s %q, want REDEPLOYING auto_restart_checkpoint_age explained", s.From, s.To, s.Reason, s.Message)
	}
	if evs := redeploys.all(); len(evs) != 1 || evs[0].Request.Program.Savepoint == nil || evs[0].Request.Program.Savepoint.Path != sp {
		t.Fatalf("image built events %+v, want one restoring from %s", evs, sp)
	}
}
