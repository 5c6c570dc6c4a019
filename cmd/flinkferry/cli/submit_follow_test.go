package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// upgradeReq is request v2 of job wordcount, an upgrade of run v1 in mode
// (empty: the default, savepoint).
func upgradeReq(mode messages.UpgradeMode) *messages.SubmitRequested {
	r := &messages.SubmitRequested{RequestID: "wc-v2", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"},
		Mode: messages.ModeApplication, Flink: messages.FlinkOptions{Version: "1.20"},
		Program: &messages.Program{Jar: messages.Jar{URL: "http://127.0.0.1:8989/jars/wordcount.jar"}}}
	if mode != "" {
		r.Upgrade = &messages.UpgradeOptions{Mode: mode}
	}
	return r
}

// upgradeStep is a step of r's upgrade as the track worker publishes it:
// an event of the old run v1 naming r in its operation.
func upgradeStep(r *messages.SubmitRequested, status messages.OperationStatus, from, to messages.JobState, reason, msg, path string) *messages.JobStatusChanged {
	e := withSavepoint(step(r.Job, r.RequestID, messages.OpUpgrade, status, from, to, reason, msg), path)
	e.RequestID = "wc-v1"
	return e
}

// movedStep returns the steps of r's move as the track worker publishes
// them: events of the moved job (upgrade.from), run v1, naming r in their
// operation.
func movedStep(r *messages.SubmitRequested) func(status messages.OperationStatus, to messages.JobState, reason, msg, path string) messages.Event {
	from, _ := r.MovedFrom()
	return func(status messages.OperationStatus, to messages.JobState, reason, msg, path string) messages.Event {
		e := withSavepoint(step(from, r.RequestID, messages.OpUpgrade, status, messages.StateRunning, to, reason, msg), path)
		if to != messages.StateUpgrading || reason != "upgrade_requested" {
			e.From = messages.StateUpgrading
		}
		e.RequestID = "wc-v1"
		return e
	}
}

// TestSubmitWaitShowsTheUpgradesSteps replays what the workers publish
// for an upgrade (docs/upgrades.md) through the wait of `submit --wait`,
// plain output, against golden files: every step of the request's
// upgrade shown (savepoint taken, restore point, new run), the old run's
// own events and other requests' steps not; a failed or refused upgrade
// fails the wait even though the job is RUNNING (the old run).
func TestSubmitWaitShowsTheUpgradesSteps(t *testing.T) {
	const (
		upgrading = messages.JobState("UPGRADING")
		running   = messages.StateRunning
		spPath    = "s3://state/wordcount/savepoints/savepoint-ab12cd-0123456789ab"
		chkPath   = "s3://state/wordcount/checkpoints/00000000000000000000000000000001/chk-42"
	)
	pushed := func(r *messages.SubmitRequested) *messages.ImageBuilt { return imageBuilt(r) }
	handBack := func(r *messages.SubmitRequested) *messages.ImageBuilt {
		ev := imageBuilt(r)
		ev.UpgradeOf = "wc-v1"
		return ev
	}
	deployed := func(r *messages.SubmitRequested) *messages.Deployed {
		return &messages.Deployed{RequestID: r.RequestID, Job: r.Job, Mode: r.Mode, RestEndpoint: "http://wordcount-rest.flink-jobs:8081",
			ObjectUIDs: map[string]string{"Deployment/wordcount": "u1", "ConfigMap/flink-config-wordcount": "u2"}, Time: time.Now()}
	}
	newRun := func(r *messages.SubmitRequested, from, to messages.JobState) *messages.JobStatusChanged {
		return stateChanged(r, from, to, "", "")
	}
	oldRun := func(r *messages.SubmitRequested, from, to messages.JobState) *messages.JobStatusChanged {
		e := stateChanged(r, from, to, "", "")
		e.RequestID = "wc-v1"
		return e
	}
	tests := []struct {
		name   string
		mode   messages.UpgradeMode
		events func(r *messages.SubmitRequested) []messages.Event
		// state and reason of the *JobFailedError; "" for success.
		state, reason string
		// move: the request moves the job from kube cluster a to b.
		move bool
	}{
		{name: "savepoint", events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				// The old run's periodic savepoint, before the upgrade: not this request's.
				step(r.Job, "periodic-1", messages.OpSavepoint, messages.OperationRequested, running, "SAVEPOINTING", "savepoint_requested", ""),
				step(r.Job, "periodic-1", messages.OpSavepoint, messages.OperationCompleted, "SAVEPOINTING", running, "savepoint_completed", ""),
				upgradeStep(r, messages.OperationRequested, running, upgrading, "upgrade_requested", "", ""),
				upgradeStep(r, messages.OperationInProgress, upgrading, upgrading, "savepoint_completed", "", spPath),
				upgradeStep(r, messages.OperationCompleted, upgrading, upgrading, "upgraded", "", spPath),
				handBack(r),
				deployed(r),
				newRun(r, upgrading, messages.StateStarting),
				newRun(r, messages.StateStarting, running),
			}
		}},
		// The submit worker applies the new run (and the track worker
		// registers it) before the track worker's steps are on the topic:
		// the lines still come in the steps' order.
		{name: "savepoint-steps-late", events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				upgradeStep(r, messages.OperationRequested, running, upgrading, "upgrade_requested", "", ""),
				handBack(r),
				deployed(r),
				newRun(r, upgrading, messages.StateStarting),
				upgradeStep(r, messages.OperationCompleted, upgrading, upgrading, "upgraded", "", spPath),
				upgradeStep(r, messages.OperationInProgress, upgrading, upgrading, "savepoint_completed", "", spPath),
				newRun(r, messages.StateStarting, running),
			}
		}},
		{name: "last-state", mode: messages.UpgradeLastState, events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				upgradeStep(r, messages.OperationRequested, running, upgrading, "upgrade_requested", "", ""),
				upgradeStep(r, messages.OperationCompleted, upgrading, upgrading, "upgraded", "", chkPath),
				handBack(r), deployed(r),
				newRun(r, upgrading, messages.StateStarting),
				newRun(r, messages.StateStarting, running),
			}
		}},
		{name: "stateless", mode: messages.UpgradeStateless, events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				upgradeStep(r, messages.OperationRequested, running, upgrading, "upgrade_requested", "", ""),
				upgradeStep(r, messages.OperationCompleted, upgrading, upgrading, "upgraded", "", ""),
				handBack(r), deployed(r),
				newRun(r, upgrading, messages.StateStarting),
				newRun(r, messages.StateStarting, running),
			}
		}},
		{name: "savepoint-fails", state: "UPGRADE_FAILED", reason: "upgrade_failed", events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				upgradeStep(r, messages.OperationRequested, running, upgrading, "upgrade_requested", "", ""),
				upgradeStep(r, messages.OperationFailed, upgrading, running, "upgrade_failed", "java.io.IOException: the savepoint storage is full", ""),
				oldRun(r, running, messages.StateFinished), // never reached: the wait ended
			}
		}},
		// The new run failed to deploy after the old cluster was removed
		// (workers/track/handback.go): the job is DEPLOY_FAILED.
		{name: "deploy-fails", state: "UPGRADE_FAILED", reason: "deploy_failed", events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				upgradeStep(r, messages.OperationRequested, running, upgrading, "upgrade_requested", "", ""),
				upgradeStep(r, messages.OperationInProgress, upgrading, upgrading, "savepoint_completed", "", spPath),
				upgradeStep(r, messages.OperationCompleted, upgrading, upgrading, "upgraded", "", spPath),
				handBack(r),
				upgradeStep(r, messages.OperationFailed, upgrading, messages.StateDeployFailed, "deploy_failed",
					"admission_refused: the new run (request wc-v2) was not deployed: refused", ""),
			}
		}},
		// A move (upgrade.from): the steps are the moved job's (cluster a),
		// the new run's events the job's in cluster b.
		{name: "move", move: true, events: func(r *messages.SubmitRequested) []messages.Event {
			moved := movedStep(r)
			return []messages.Event{
				pushed(r),
				moved(messages.OperationRequested, upgrading, "upgrade_requested", "", ""),
				moved(messages.OperationInProgress, upgrading, "savepoint_completed", "", spPath),
				moved(messages.OperationCompleted, messages.StateTerminated, "moved", "moved to b/flink-jobs/wordcount (request wc-v2)", spPath),
				handBack(r), deployed(r),
				newRun(r, "", messages.StateStarting),
				newRun(r, messages.StateStarting, running),
			}
		}},
		{name: "move-savepoint-fails", move: true, state: "UPGRADE_FAILED", reason: "upgrade_failed", events: func(r *messages.SubmitRequested) []messages.Event {
			moved := movedStep(r)
			return []messages.Event{
				pushed(r),
				moved(messages.OperationRequested, upgrading, "upgrade_requested", "", ""),
				moved(messages.OperationFailed, running, "upgrade_failed", "java.io.IOException: the savepoint storage is full", ""),
			}
		}},
		{name: "move-refused", move: true, state: "REFUSED", reason: messages.RefusedSavepointNotShared, events: func(r *messages.SubmitRequested) []messages.Event {
			from, _ := r.MovedFrom()
			return []messages.Event{
				pushed(r),
				refused(from, r.RequestID, messages.OpUpgrade, messages.RefusedSavepointNotShared,
					`savepoint directory file:///flink/savepoints is local to Kubernetes cluster "a"`),
			}
		}},
		{name: "refused", state: "REFUSED", reason: messages.RefusedNotAllowed, events: func(r *messages.SubmitRequested) []messages.Event {
			return []messages.Event{
				pushed(r),
				refused(r.Job, "someone-else", messages.OpSuspend, messages.RefusedInProgress, "not this request"),
				refused(r.Job, r.RequestID, messages.OpUpgrade, messages.RefusedNotAllowed, "upgrade mode last-state needs a completed checkpoint; none of the job is recorded"),
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := upgradeReq(tc.mode)
			if tc.move {
				r.Job.KubeCluster = "b"
				r.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{KubeCluster: "a"}}
			}
			var out bytes.Buffer
			f := newSubmitFollow(r, nil, &plainProgress{w: &out})
			var err error
			finished := false
			for _, ev := range tc.events(r) {
				if finished, err = f.handle(context.Background(), ev, nil); finished {
					break
				}
			}
			if !finished {
				t.Fatalf("the wait did not finish:\n%s", out.String())
			}
			var jf *JobFailedError
			switch {
			case tc.state == "" && err != nil:
				t.Fatalf("wait error = %v, want success\n%s", err, out.String())
			case tc.state != "" && !errors.As(err, &jf):
				t.Fatalf("wait error = %v, want *JobFailedError\n%s", err, out.String())
			case tc.state != "" && (jf.State != tc.state || jf.Reason != tc.reason || jf.RequestID != r.RequestID):
				t.Fatalf("JobFailedError = %+v, want request %s state %s reason %s", jf, r.RequestID, tc.state, tc.reason)
			}
			fmt.Fprintf(&out, "-- exit: %v\n", err)
			golden(t, "submit_upgrade_"+tc.name+".golden", out.String())
		})
	}
}
