package track

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// upgradeOf is the submit worker's hand-over of a new request, newID, for
// the job of key's run running.
func upgradeOf(job messages.JobRef, running, newID string, now time.Time) *messages.UpgradeRequested {
	req := runRequest(newID, job, messages.ModeApplication)
	req.Flink.Parallelism = 4
	img := messages.ImageBuilt{
		RequestID: newID, Job: job, Mode: messages.ModeApplication,
		Image:   "registry.example.com/flinkferry/" + job.ClusterID + "@sha256:" + fmt.Sprintf("%064d", 2),
		JarName: "wordcount-1.0.jar", JarSHA256: strings.Repeat("d", 64), Time: now, Request: *req,
	}
	return &messages.UpgradeRequested{RequestID: newID, Job: job, Running: running, Image: img, Time: now}
}

// TestHandOverWhoseNewRunFailsToDeploy: an upgrade (savepoint mode) of a
// RUNNING job stops it with a savepoint and hands the new request over;
// the submit worker cannot deploy it (its deploy failed event, as it
// publishes it on the control topic, delivered twice). The job does not
// stay UPGRADING: it becomes DEPLOY_FAILED with reason deploy_failed, the
// message naming the submit worker's reason, the operation failed (one
// step with status failed). A restart then deploys the old run again from
// the upgrade's savepoint. A deploy failure of no hand-over changes
// nothing, and one that arrives before the hand-over is recorded is
// retried.
func TestHandOverWhoseNewRunFailsToDeploy(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "hf1"
	jobID := jobIDOf(60)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}})
	f, redeploys := e.flink(), &redeployLog{}
	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	job := messages.JobRef{Namespace: ns, ClusterID: id}

	// A deploy failure of a request no operation hands over: ignored.
	other := &messages.DeployFailed{RequestID: "hf1-other", Job: job, Mode: messages.ModeApplication,
		Reason: "admission_refused", Message: "refused", Time: e.clock.Now().UTC()}
	if _, err := e.ctl.HandleAny(ctx, other); err != nil {
		t.Fatalf("HandleAny(deploy failed of no operation) = %v, want nil", err)
	}

	up := upgradeOf(job, "req-"+id, "hf1-v2", e.clock.Now().UTC())
	if _, err := e.ctl.HandleAny(ctx, up); err != nil {
		t.Fatal(err)
	}
	j := waitOpDone(t, e.store, key, up.RequestID, 15*time.Second)
	sps := jm.Savepoints()
	if j.Op.Result != ops.Completed || len(sps) != 1 || j.Op.Location != sps[0] {
		t.Fatalf("upgrade %+v, savepoints %v: want handed over restoring from the one savepoint", *j.Op, sps)
	}
	if evs := redeploys.of(up.RequestID); len(evs) != 1 || evs[0].UpgradeOf != "req-"+id {
		t.Fatalf("hand-back %+v, want one image built event upgrading req-%s", evs, id)
	}
	waitState(t, e.store, key, messages.StateUpgrading, 5*time.Second)

	// The submit worker refuses the new run.
	df := &messages.DeployFailed{RequestID: up.RequestID, Job: job, Mode: messages.ModeApplication,
		Reason: "admission_refused", Message: "flink.parallelism 4 is above the cluster's limit 2", Time: e.clock.Now().UTC()}
	for range 2 { // a redelivery changes nothing
		if _, err := e.ctl.HandleAny(ctx, df); err != nil {
			t.Fatalf("HandleAny(deploy failed) = %v", err)
		}
	}
	j = waitState(t, e.store, key, messages.StateDeployFailed, 10*time.Second)
	if j.Reason != ops.ReasonDeployFailed || !strings.HasPrefix(j.Message, "admission_refused: ") || !strings.Contains(j.Message, "above the cluster's limit") {
		t.Errorf("DEPLOY_FAILED with reason %q, message %q; want deploy_failed, the message starting with the submit worker's reason", j.Reason, j.Message)
	}
	if j.Op.Result != ops.Failed || j.Op.Reason != ops.ReasonDeployFailed || !j.Op.Undeployed {
		t.Errorf("operation %+v, want failed, undeployed", *j.Op)
	}
	want := []stepSummary{
		{messages.StateRunning, messages.StateUpgrading, "upgrade_requested", messages.OperationRequested, ""},
		{messages.StateUpgrading, messages.StateUpgrading, "savepoint_completed", messages.OperationInProgress, sps[0]},
		{messages.StateUpgrading, messages.StateUpgrading, "upgraded", messages.OperationCompleted, sps[0]},
		{messages.StateUpgrading, messages.StateDeployFailed, ops.ReasonDeployFailed, messages.OperationFailed, ""},
	}
	waitFor(t, 5*time.Second, "the upgrade's four steps", func() bool { return len(opEvents(e.events, key, up.RequestID)) >= len(want) })
	if got := opEvents(e.events, key, up.RequestID); !slices.Equal(summarize(got), want) {
		t.Errorf("status events of the upgrade:%s\nwant %+v", describe(got), want)
	}

	// The way out: a restart deploys the old run from the upgrade's savepoint.
	restart := messages.ControlRequested{RequestID: "hf1-restart", Job: job, Operation: messages.OpRestart}
	e.handle(t, restart)
	j = waitOpDone(t, e.store, key, restart.RequestID, 10*time.Second)
	evs := redeploys.of(restart.RequestID)
	if j.Op.Result != ops.Completed || len(evs) != 1 || evs[0].Request.Program.Savepoint == nil || evs[0].Request.Program.Savepoint.Path != sps[0] ||
		evs[0].Request.Flink.Parallelism != 2 {
		t.Fatalf("restart %+v, image built %+v: want the old run (parallelism 2) restoring from %s", *j.Op, evs, sps[0])
	}
	e.registerNewRun(t, evs[0], jm, restURL(ns, id))
	waitJob(t, e.store, key, 10*time.Second, "the restarted run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == restart.RequestID && j.State == messages.StateRunning
	})
}

// waitFor polls ok until it holds or within has passed.
func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHandOverThatNeverRegisters: an upgrade handed over whose new run
// neither registers nor fails to deploy (the submit worker never answers)
// ends HandBackGrace after the operation's deadline: DEPLOY_FAILED,
// reason deploy_failed, the operation failed; not before.
func TestHandOverThatNeverRegisters(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "hf2"
	key, _ := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobIDOf(61), Script: flinksim.Script{{State: flinksim.Running}}})
	e.startRedeploying(t, "r1", e.flink(), &redeployLog{})
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)

	up := upgradeOf(messages.JobRef{Namespace: ns, ClusterID: id}, "req-"+id, "hf2-v2", e.clock.Now().UTC())
	up.Image.Request.Upgrade = &messages.UpgradeOptions{Mode: messages.UpgradeStateless}
	if _, err := e.ctl.HandleAny(ctx, up); err != nil {
		t.Fatal(err)
	}
	j := waitOpDone(t, e.store, key, up.RequestID, 15*time.Second)
	if j.Op.Result != ops.Completed {
		t.Fatalf("upgrade %+v, want handed over", *j.Op)
	}
	deadline := j.Op.Deadline
	e.clock.Advance(deadline.Sub(e.clock.Now()) + HandBackGrace - time.Minute)
	time.Sleep(time.Second) // a few operation rounds
	if j, _ = e.store.Get(ctx, key); j.State != messages.StateUpgrading {
		t.Fatalf("a minute before the bound: %s (%s), want UPGRADING", j.State, j.Reason)
	}
	e.clock.Advance(time.Minute)
	j = waitState(t, e.store, key, messages.StateDeployFailed, 10*time.Second)
	if j.Reason != ops.ReasonDeployFailed || !strings.Contains(j.Message, "did not register") || j.Op.Result != ops.Failed || !j.Op.Undeployed {
		t.Errorf("DEPLOY_FAILED (%s: %s), operation %+v; want deploy_failed, the operation failed", j.Reason, j.Message, *j.Op)
	}
	evs := opEventsUntil(e.events, key, up.RequestID, func(evs []messages.JobStatusChanged) bool {
		return len(evs) > 0 && evs[len(evs)-1].To == messages.StateDeployFailed
	})
	if len(evs) == 0 {
		t.Fatal("no status event of the upgrade")
	}
	if last := evs[len(evs)-1]; last.To != messages.StateDeployFailed || last.Operation.Status != messages.OperationFailed {
		t.Errorf("last step %+v, want → DEPLOY_FAILED, failed", last)
	}
}
