package ops

import (
	"fmt"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func newOp(op messages.Operation, mode messages.Mode) Op {
	return Op{RequestID: "r1", TriggerID: "0123456789abcdef0123456789abcdef", Operation: op, Mode: mode,
		Phase: Requested, RequestedAt: t0, Deadline: t0.Add(30 * time.Minute)}
}

// restartOp is a restart restoring from from; offline: the job did not
// run when it was recorded; location: the restore point chosen then.
func restartOp(mode messages.Mode, from messages.RestoreFrom, offline bool, location string) Op {
	op := newOp(messages.OpRestart, mode)
	op.Request = &messages.ControlRequested{RequestID: op.RequestID, Operation: messages.OpRestart, Restore: &messages.RestoreOptions{From: from}}
	op.Offline, op.Location = offline, location
	return op
}

// round is one observation and what the decision must be.
type round struct {
	after    time.Duration
	outcome  Outcome
	job      messages.JobState
	objects  int
	phase    Phase
	action   Action
	step     string // the step's reason, "" for none
	location string // the step's savepoint path
}

func run(t *testing.T, op Op, rounds []round) Op {
	t.Helper()
	for i, r := range rounds {
		d := Next(op, Observation{Time: t0.Add(r.after), Outcome: r.outcome, JobState: r.job, ObjectsLeft: r.objects})
		if d.Op.Phase != r.phase || d.Action != r.action {
			t.Fatalf("round %d: phase %s action %q, want %s %q (op %+v)", i, d.Op.Phase, d.Action, r.phase, r.action, d.Op)
		}
		var step, loc string
		if d.Step != nil {
			step, loc = d.Step.Reason, d.Step.SavepointPath
		}
		if step != r.step || loc != r.location {
			t.Fatalf("round %d: step %q (%q), want %q (%q)", i, step, loc, r.step, r.location)
		}
		op = d.Op
	}
	return op
}

const sp = "s3://sp/savepoint-a4b1c2-0123456789ab"

func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     Op
		rounds []round
		result Result
	}{
		{"suspend an application job", newOp(messages.OpSuspend, messages.ModeApplication), []round{
			{after: 0, objects: -1, phase: Requested, action: Trigger},
			{after: 5 * time.Second, outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, objects: 3, phase: Triggered, action: Poll},
			{after: 10 * time.Second, outcome: Outcome{Kind: InProgress}, job: messages.StateRunning, objects: 3, phase: Triggered, action: Poll},
			// 5 minutes of savepoint: still polling, nothing to say.
			{after: 5 * time.Minute, outcome: Outcome{Kind: InProgress}, job: messages.StateRunning, objects: 3, phase: Triggered, action: Poll},
			{after: 5*time.Minute + 5*time.Second, outcome: Outcome{Kind: Succeeded, Location: sp}, job: messages.StateFinished, objects: 3,
				phase: Cleanup, action: Clean, step: "savepoint_completed", location: sp},
			{after: 5*time.Minute + 10*time.Second, objects: 1, phase: Cleanup, action: Clean},
			{after: 5*time.Minute + 15*time.Second, objects: 0, phase: Done, step: "suspended", location: sp},
		}, Completed},
		{"a cluster that cannot be removed fails the suspend, its savepoint kept", newOp(messages.OpSuspend, messages.ModeApplication), []round{
			{after: 0, objects: -1, phase: Requested, action: Trigger},
			{after: time.Second, outcome: Outcome{Kind: Succeeded, Location: sp}, job: messages.StateFinished, objects: 3,
				phase: Cleanup, action: Clean, step: "savepoint_completed", location: sp},
			// Past the deadline the cleanup goes on for CleanupGrace.
			{after: 30*time.Minute + 9*time.Minute, objects: 2, phase: Cleanup, action: Clean},
			{after: 30*time.Minute + CleanupGrace, objects: 2, phase: Done, step: ReasonCleanupFailed},
		}, Failed},
		{"suspend a session job keeps the cluster", newOp(messages.OpSuspend, messages.ModeSession), []round{
			{objects: -1, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Succeeded, Location: sp}, objects: 3, phase: Done, step: "suspended", location: sp},
		}, Completed},
		{"a failed savepoint leaves the job alone", newOp(messages.OpSavepoint, messages.ModeApplication), []round{
			{objects: -1, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: FlinkFailed, Message: "java.io.IOException: bucket gone"}, job: messages.StateRunning, phase: Done, step: "savepoint_failed"},
		}, Failed},
		{"savepoint completes, the job runs on", newOp(messages.OpSavepoint, messages.ModeApplication), []round{
			{objects: -1, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Succeeded, Location: sp}, job: messages.StateRunning, objects: 3, phase: Done, step: "savepoint_completed", location: sp},
		}, Completed},
		{"JobManager restarted: trigger again with the same id", newOp(messages.OpSavepoint, messages.ModeApplication), []round{
			{objects: -1, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: NotFound}, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, phase: Triggered, action: Poll},
		}, ""},
		{"Flink unreachable until the deadline", newOp(messages.OpSuspend, messages.ModeApplication), []round{
			{objects: -1, phase: Requested, action: Trigger},
			{after: time.Minute, outcome: Outcome{Kind: Unavailable}, phase: Requested, action: Trigger},
			{after: 30 * time.Minute, outcome: Outcome{Kind: Unavailable}, phase: Done, step: ReasonUnreachable},
		}, Failed},
		{"savepoint slower than the deadline", newOp(messages.OpSavepoint, messages.ModeApplication), []round{
			{outcome: Outcome{Kind: Accepted}, phase: Triggered, action: Poll},
			{after: 30 * time.Minute, outcome: Outcome{Kind: InProgress}, phase: Done, step: ReasonTimeout},
		}, Failed},
		{"the job fails during the savepoint", newOp(messages.OpSuspend, messages.ModeApplication), []round{
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Unavailable}, job: messages.StateFailed, phase: Done, step: ReasonJobEnded},
		}, Failed},
		{"Flink refuses the trigger", newOp(messages.OpSuspend, messages.ModeApplication), []round{
			{outcome: Outcome{Kind: FlinkFailed, Message: "Config key [state.savepoints.dir] is not set."}, phase: Done, step: "suspend_failed"},
		}, Failed},
		{"cancel an application job", newOp(messages.OpCancel, messages.ModeApplication), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateCancelling, objects: 3, phase: Triggered, action: Poll},
			{job: messages.StateCanceled, objects: 3, phase: Cleanup, action: Clean},
			{objects: 0, phase: Done, step: "canceled"},
		}, Completed},
		{"cancel a job that already failed cleans up", newOp(messages.OpCancel, messages.ModeApplication), []round{
			{job: messages.StateFailed, objects: 2, phase: Cleanup, action: Clean},
			{objects: 0, phase: Done, step: "canceled"},
		}, Completed},
		{"delete an application cluster", newOp(messages.OpDelete, messages.ModeApplication), []round{
			{objects: -1, phase: Requested, action: Clean},
			{outcome: Outcome{Kind: Accepted}, objects: 3, phase: Cleanup, action: Clean},
			{objects: 0, phase: Done, step: "deleted"},
		}, Completed},
		{"delete a session job cancels it", newOp(messages.OpDelete, messages.ModeSession), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, phase: Triggered, action: Poll},
			{job: messages.StateCanceled, objects: 3, phase: Done, step: "deleted"},
		}, Completed},
		{"dispose", newOp(messages.OpDispose, messages.ModeApplication), []round{
			{phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Succeeded}, objects: 3, phase: Done, step: "savepoint_disposed"},
		}, Completed},
		{"restart a running application job from a savepoint it takes", newOp(messages.OpRestart, messages.ModeApplication), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, objects: 3, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Succeeded, Location: sp}, job: messages.StateFinished, objects: 3, phase: Cleanup, action: Clean, step: "savepoint_completed", location: sp},
			{objects: 0, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Unavailable}, phase: Deploy, action: Redeploy},
			{after: time.Hour, outcome: Outcome{Kind: Published}, phase: Done, step: "restarted", location: sp},
		}, Completed},
		{"restart a running application job from its checkpoint cancels it", restartOp(messages.ModeApplication, messages.RestoreFromCheckpoint, false, "s3://cp/chk-7"), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateCancelling, objects: 3, phase: Triggered, action: Poll},
			{job: messages.StateCanceled, objects: 3, phase: Cleanup, action: Clean},
			{objects: 0, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Published}, phase: Done, step: "restarted", location: "s3://cp/chk-7"},
		}, Completed},
		{"a restart from the checkpoint takes the latest one Flink completed before the cancel", restartOp(messages.ModeApplication, messages.RestoreFromCheckpoint, false, "s3://cp/chk-7"), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateCancelling, objects: 3, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Succeeded, Location: "s3://cp/chk-9"}, job: messages.StateCanceled, objects: 3, phase: Cleanup, action: Clean},
			{objects: 0, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Published}, phase: Done, step: "restarted", location: "s3://cp/chk-9"},
		}, Completed},
		{"restart a failed application job removes its cluster first", restartOp(messages.ModeApplication, messages.RestoreFromSavepoint, true, sp), []round{
			{objects: -1, job: messages.StateFailed, phase: Requested, action: Clean},
			{outcome: Outcome{Kind: Succeeded}, objects: 2, phase: Cleanup, action: Clean},
			{objects: 0, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Published}, phase: Done, step: "restarted", location: sp},
		}, Completed},
		{"restart an ended session job deploys it at once", restartOp(messages.ModeSession, messages.RestoreFromNone, true, ""), []round{
			{objects: -1, job: messages.StateCanceled, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Published}, phase: Done, step: "restarted"},
		}, Completed},
		{"restart a running session job: savepoint, then deploy (nothing to remove)", newOp(messages.OpRestart, messages.ModeSession), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: Succeeded, Location: sp}, job: messages.StateFinished, objects: 3, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Published}, phase: Done, step: "restarted", location: sp},
		}, Completed},
		{"a restart whose savepoint fails leaves the job", newOp(messages.OpRestart, messages.ModeApplication), []round{
			{objects: -1, job: messages.StateRunning, phase: Requested, action: Trigger},
			{outcome: Outcome{Kind: Accepted}, job: messages.StateRunning, phase: Triggered, action: Poll},
			{outcome: Outcome{Kind: FlinkFailed, Message: "disk full"}, job: messages.StateRunning, phase: Done, step: "restart_failed"},
		}, Failed},
		{"a restart the stored run cannot redeploy fails", restartOp(messages.ModeApplication, messages.RestoreFromNone, true, ""), []round{
			{objects: -1, phase: Requested, action: Clean},
			{outcome: Outcome{Kind: Succeeded}, objects: 0, phase: Deploy, action: Redeploy},
			{outcome: Outcome{Kind: Refused, Message: "no request"}, phase: Done, step: "restart_failed"},
		}, Failed},
		{"resume redeploys", newOp(messages.OpResume, messages.ModeApplication), []round{
			{objects: -1, phase: Requested, action: Redeploy},
			{outcome: Outcome{Kind: Accepted}, phase: Done, step: "resumed"},
		}, Completed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, tc.op, tc.rounds); got.Result != tc.result {
				t.Fatalf("result = %q, want %q", got.Result, tc.result)
			}
		})
	}
}

// TestSameObservationTwice: every decision, applied and decided again on
// the same observation, keeps the operation and says nothing new (a
// redelivered round, two replicas over the same round), over every
// combination of operation, mode, phase, outcome, job state, objects left
// and time.
func TestSameObservationTwice(t *testing.T) {
	outcomes := []Outcome{{}, {Kind: Accepted}, {Kind: InProgress}, {Kind: Succeeded, Location: sp}, {Kind: FlinkFailed, Message: "boom"},
		{Kind: NotFound}, {Kind: Unavailable}}
	jobs := []messages.JobState{"", messages.StateRunning, messages.StateCancelling, messages.StateCanceled, messages.StateFailed, messages.StateFinished}
	n := 0
	for _, operation := range messages.Operations() {
		for _, mode := range messages.Modes() {
			for _, phase := range []Phase{Requested, Triggered, Cleanup, Done, "bogus"} {
				for _, out := range outcomes {
					for _, job := range jobs {
						for _, objects := range []int{-1, 0, 3} {
							for _, after := range []time.Duration{0, 29 * time.Minute, 30 * time.Minute, time.Hour} {
								n++
								op := newOp(operation, mode)
								op.Phase = phase
								if phase == Done {
									op.Result = Completed
								}
								obs := Observation{Time: t0.Add(after), Outcome: out, JobState: job, ObjectsLeft: objects}
								first := Next(op, obs)
								second := Next(first.Op, obs)
								name := fmt.Sprintf("%s/%s/%s/%s/%s/%d/%s", operation, mode, phase, out.Kind, job, objects, after)
								if second.Op != first.Op {
									t.Fatalf("%s: decided again: %+v, want %+v", name, second.Op, first.Op)
								}
								if second.Step != nil {
									t.Fatalf("%s: decided again: step %+v, want none", name, second.Step)
								}
								if first.Op.Phase == Done && (first.Action != None || first.Op.Result == "") {
									t.Fatalf("%s: done with action %q result %q", name, first.Action, first.Op.Result)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations", n)
}

func TestJobState(t *testing.T) {
	for _, tc := range []struct {
		op   messages.Operation
		ph   Phase
		res  Result
		want messages.JobState
	}{
		{messages.OpSuspend, Triggered, "", StateSuspending},
		{messages.OpSuspend, Cleanup, "", StateSuspending},
		{messages.OpSuspend, Done, Completed, messages.StateSuspended},
		{messages.OpSuspend, Done, Failed, messages.StateRunning},
		{messages.OpSavepoint, Triggered, "", StateSavepointing},
		{messages.OpSavepoint, Done, Completed, messages.StateRunning},
		{messages.OpCancel, Requested, "", messages.StateCancelling},
		{messages.OpCancel, Done, Completed, messages.StateCanceled},
		{messages.OpDelete, Cleanup, "", StateDeleting},
		{messages.OpRestart, Triggered, "", StateRedeploying},
		{messages.OpRestart, Deploy, "", StateRedeploying},
		{messages.OpRestart, Done, Completed, messages.StateRunning},
	} {
		op := newOp(tc.op, messages.ModeApplication)
		op.Phase, op.Result = tc.ph, tc.res
		if got := op.JobState(messages.StateRunning); got != tc.want {
			t.Errorf("%s %s %s: JobState = %s, want %s", tc.op, tc.ph, tc.res, got, tc.want)
		}
	}
}
