package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// The states an operation in flight shows (docs/day2.md).
const (
	suspending   = messages.JobState("SUSPENDING")
	savepointing = messages.JobState("SAVEPOINTING")
	deleting     = messages.JobState("DELETING")
)

const testSavepoint = "s3://state/wc/savepoints/savepoint-1a2b3c-0123456789ab"

// jobChanged is a transition of job's run submit-1 that is no operation's
// step.
func jobChanged(job messages.JobRef, from, to messages.JobState, reason, msg string) *messages.JobStatusChanged {
	return &messages.JobStatusChanged{
		RequestID: "submit-1", Job: job, Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
		From: from, To: to, Reason: reason, Message: msg, Time: time.Now(),
	}
}

// step is a step of operation op of control request id on job's run
// submit-1, as the track worker publishes it.
func step(job messages.JobRef, id string, op messages.Operation, status messages.OperationStatus, from, to messages.JobState, reason, msg string) *messages.JobStatusChanged {
	e := jobChanged(job, from, to, reason, msg)
	e.Operation = &messages.OperationRef{RequestID: id, Operation: op, Status: status}
	return e
}

// withSavepoint sets e's savepoint path.
func withSavepoint(e *messages.JobStatusChanged, path string) *messages.JobStatusChanged {
	e.SavepointPath = path
	return e
}

// runChanged is a transition of job's run id (the run a resume started).
func runChanged(job messages.JobRef, id string, from, to messages.JobState, reason, msg string) *messages.JobStatusChanged {
	e := jobChanged(job, from, to, reason, msg)
	e.RequestID = id
	return e
}

// refused is the refusal of control request id of job.
func refused(job messages.JobRef, id string, op messages.Operation, reason, msg string) *messages.ControlRefused {
	return &messages.ControlRefused{RequestID: id, Job: job, Operation: op, Reason: reason, Message: msg, Time: time.Now()}
}

func TestControlWaitEndsOnTheOperationsOutcome(t *testing.T) {
	k, cfg := submitKafka(t)
	const running = messages.StateRunning
	// The track worker of docs/day2.md, played per request: the cluster id
	// is the test's name and the request id.
	respondOn(t, k, cfg, cfg.Topics().Control, messages.TypeControlRequested, func(r *messages.ControlRequested) []messages.Event {
		j, id, op := r.Job, r.RequestID, r.Operation
		switch j.ClusterID {
		case "suspend-ok":
			other := j
			other.ClusterID = "other"
			return []messages.Event{
				step(other, id, op, messages.OperationCompleted, running, messages.StateSuspended, "other_job", ""), // another job: ignored
				refused(j, "someone-else", messages.OpSavepoint, messages.RefusedInProgress, "other_refusal"),       // another request: ignored
				step(j, id, op, messages.OperationRequested, running, suspending, "suspend_requested", ""),
				step(j, "sp-1", messages.OpSavepoint, messages.OperationFailed, suspending, suspending, "operation_superseded", ""), // another operation: no verdict
				step(j, id, op, messages.OperationInProgress, suspending, suspending, "suspend_triggered", ""),
				withSavepoint(step(j, id, op, messages.OperationCompleted, suspending, messages.StateSuspended, "suspended", ""), testSavepoint),
			}
		case "suspend-fails":
			return []messages.Event{
				step(j, id, op, messages.OperationRequested, running, suspending, "suspend_requested", ""),
				step(j, id, op, messages.OperationFailed, suspending, running, "suspend_failed", "Checkpoint expired before completing"),
			}
		case "suspend-refused":
			return []messages.Event{refused(j, id, op, messages.RefusedInProgress, "savepoint sp-1 is in flight")}
		case "savepoint-ok":
			return []messages.Event{
				step(j, id, op, messages.OperationRequested, running, savepointing, "savepoint_requested", ""),
				withSavepoint(step(j, id, op, messages.OperationCompleted, savepointing, running, "savepoint_completed", ""), testSavepoint),
			}
		case "savepoint-fails":
			return []messages.Event{
				step(j, id, op, messages.OperationRequested, running, savepointing, "savepoint_requested", ""),
				step(j, id, op, messages.OperationFailed, savepointing, running, "savepoint_failed", "java.io.IOException: bucket gone"),
			}
		case "savepoint-job-fails":
			return []messages.Event{
				step(j, id, op, messages.OperationInProgress, running, savepointing, "savepoint_requested", ""),
				jobChanged(j, savepointing, messages.StateFailed, "job_failed", "java.lang.RuntimeException: boom"),
			}
		case "cancel-ok":
			return []messages.Event{
				step(j, id, op, messages.OperationRequested, running, messages.StateCancelling, "cancel_requested", ""),
				step(j, id, op, messages.OperationCompleted, messages.StateCancelling, messages.StateCanceled, "canceled", ""),
			}
		case "resume-ok":
			return []messages.Event{
				step(j, id, op, messages.OperationCompleted, messages.StateSuspended, messages.StateSuspended, "resumed", ""),
				&messages.Deployed{RequestID: id, Job: j, Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
					Image: "127.0.0.1:5000/flinkferry/wordcount@" + testDigest, Time: time.Now()},
				runChanged(j, id, "", messages.StateStarting, "", ""),
				runChanged(j, id, messages.StateStarting, running, "job_running", ""),
			}
		case "resume-deploy-fails":
			return []messages.Event{
				step(j, id, op, messages.OperationCompleted, messages.StateSuspended, messages.StateSuspended, "resumed", ""),
				&messages.DeployFailed{RequestID: id, Job: j, Mode: messages.ModeApplication, Reason: "quota_exceeded", Message: "exceeded quota: flink-jobs", Time: time.Now()},
			}
		case "resume-run-fails":
			return []messages.Event{
				step(j, id, op, messages.OperationCompleted, messages.StateSuspended, messages.StateSuspended, "resumed", ""),
				runChanged(j, id, "", messages.StateStarting, "", ""),
				runChanged(j, id, messages.StateStarting, messages.StateFailed, "job_failed", "savepoint not found"),
			}
		case "delete-ok":
			return []messages.Event{
				step(j, id, op, messages.OperationRequested, running, deleting, "delete_requested", ""),
				step(j, id, op, messages.OperationCompleted, deleting, messages.StateTerminated, "deleted", ""),
			}
		case "dispose-ok":
			return []messages.Event{withSavepoint(step(j, id, op, messages.OperationCompleted, messages.StateSuspended, messages.StateSuspended, "savepoint_disposed", ""), r.SavepointPath)}
		case "dispose-fails":
			return []messages.Event{step(j, id, op, messages.OperationFailed, messages.StateSuspended, messages.StateSuspended, "dispose_failed", "no such savepoint")}
		}
		return nil // silent: the wait times out
	})
	tests := []struct {
		name  string
		args  []string
		lines []string // output lines, in order
		// fail is the failure's state and reason; "" for exit 0.
		failState, failReason string
		timeout               string
	}{
		{name: "suspend-ok", args: []string{"suspend"},
			lines: []string{"SUSPENDING (suspend_requested)", "SUSPENDING (operation_superseded) [savepoint sp-1, not this request]",
				"SUSPENDING (suspend_triggered)", "SUSPENDED (suspended), savepoint " + testSavepoint}},
		{name: "suspend-fails", args: []string{"suspend"},
			lines:     []string{"SUSPENDING (suspend_requested)", "RUNNING (suspend_failed: Checkpoint expired before completing)"},
			failState: "RUNNING", failReason: "suspend_failed"},
		{name: "suspend-refused", args: []string{"suspend"},
			lines:     []string{"refused (operation_in_progress: savepoint sp-1 is in flight)"},
			failState: "REFUSED", failReason: messages.RefusedInProgress},
		{name: "savepoint-ok", args: []string{"savepoint"},
			lines: []string{"SAVEPOINTING (savepoint_requested)", "RUNNING (savepoint_completed), savepoint " + testSavepoint}},
		{name: "savepoint-fails", args: []string{"savepoint"},
			lines:     []string{"SAVEPOINTING (savepoint_requested)", "RUNNING (savepoint_failed: java.io.IOException: bucket gone)"},
			failState: "RUNNING", failReason: "savepoint_failed"},
		{name: "savepoint-job-fails", args: []string{"savepoint"},
			lines:     []string{"SAVEPOINTING (savepoint_requested)", "FAILED (job_failed: java.lang.RuntimeException: boom)"},
			failState: "FAILED", failReason: "job_failed"},
		{name: "cancel-ok", args: []string{"cancel"}, lines: []string{"CANCELLING (cancel_requested)", "CANCELED (canceled)"}},
		{name: "resume-ok", args: []string{"resume"},
			lines: []string{"SUSPENDED (resumed)", "objects applied (0 objects)", "STARTING", "RUNNING (job_running)"}},
		{name: "resume-deploy-fails", args: []string{"resume"},
			lines:     []string{"SUSPENDED (resumed)", "deploy failed: quota_exceeded: exceeded quota: flink-jobs"},
			failState: "DEPLOY_FAILED", failReason: "quota_exceeded"},
		{name: "resume-run-fails", args: []string{"resume"},
			lines:     []string{"SUSPENDED (resumed)", "STARTING", "FAILED (job_failed: savepoint not found)"},
			failState: "FAILED", failReason: "job_failed"},
		{name: "delete-ok", args: []string{"delete"}, lines: []string{"DELETING (delete_requested)", "TERMINATED (deleted)"}},
		{name: "dispose-ok", args: []string{"dispose", testSavepoint}, lines: []string{"SUSPENDED (savepoint_disposed), savepoint " + testSavepoint}},
		{name: "dispose-fails", args: []string{"dispose", testSavepoint},
			lines:     []string{"SUSPENDED (dispose_failed: no such savepoint)"},
			failState: "SUSPENDED", failReason: "dispose_failed"},
		{name: "silent", args: []string{"suspend"}, timeout: "2s",
			lines:     []string{"still suspending after 2s"},
			failState: "suspending", failReason: "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == "" {
				timeout = "60s"
			}
			args := []string{tc.args[0], tc.name}
			args = append(args, tc.args[1:]...)
			args = append(args, "-n", "flink-jobs", "--kube-cluster", "default", "--request-id", tc.name, "--wait", "--timeout", timeout)
			out, errOut, err := runCLI(t, cfg, args...)
			if tc.failState == "" && err != nil {
				t.Fatalf("%v\n%s%s", err, out, errOut)
			}
			if tc.failState != "" {
				var jf *JobFailedError
				if !errors.As(err, &jf) {
					t.Fatalf("error = %v, want *JobFailedError\n%s", err, out)
				}
				if jf.RequestID != tc.name || jf.State != tc.failState || jf.Reason != tc.failReason {
					t.Errorf("JobFailedError = %+v, want request %s state %s reason %s", jf, tc.name, tc.failState, tc.failReason)
				}
			}
			// The expected lines, in order, the verdict last.
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			i := 0
			for _, l := range got {
				if i < len(tc.lines) && l == tc.lines[i] {
					i++
				}
			}
			if i < len(tc.lines) || got[len(got)-1] != tc.lines[len(tc.lines)-1] {
				t.Errorf("output lacks %q, in this order and the last one last:\n%s", tc.lines, out)
			}
			if strings.Contains(out, "other_job") || strings.Contains(out, "other_refusal") {
				t.Errorf("output shows another job's event or another request's refusal:\n%s", out)
			}
		})
	}
}

// TestJudgeControl covers the rules of judgeControl event by event,
// including what the Kafka test above cannot show (events that must not
// end a wait).
func TestJudgeControl(t *testing.T) {
	job := messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}
	other := messages.JobRef{Namespace: "flink-jobs", ClusterID: "other"}
	const (
		id      = "req-1"
		running = messages.StateRunning
	)
	tests := []struct {
		name string
		op   messages.Operation
		ev   messages.Event
		want verdict
		// line is the printed line, "" for none; stage the stage after
		// a pending event ("" keeps it).
		line, stage string
		// failState and failReason are the failure's.
		failState, failReason string
	}{
		{name: "own refusal", op: messages.OpCancel, ev: refused(job, id, messages.OpCancel, messages.RefusedJobNotFound, "no job"),
			want: failed, line: "refused (job_not_found: no job)", failState: "REFUSED", failReason: "job_not_found"},
		{name: "refusal of another request", op: messages.OpCancel, ev: refused(job, "req-2", messages.OpCancel, messages.RefusedInProgress, "busy")},
		{name: "requested", op: messages.OpSuspend, ev: step(job, id, messages.OpSuspend, messages.OperationRequested, running, suspending, "suspend_requested", ""),
			line: "SUSPENDING (suspend_requested)", stage: "SUSPENDING"},
		{name: "in progress", op: messages.OpSavepoint, ev: step(job, id, messages.OpSavepoint, messages.OperationInProgress, savepointing, savepointing, "savepoint_triggered", ""),
			line: "SAVEPOINTING (savepoint_triggered)", stage: "SAVEPOINTING"},
		{name: "completed", op: messages.OpSavepoint, ev: withSavepoint(step(job, id, messages.OpSavepoint, messages.OperationCompleted, savepointing, running, "savepoint_completed", ""), testSavepoint),
			want: succeeded, line: "RUNNING (savepoint_completed), savepoint " + testSavepoint},
		{name: "savepoint failed with Flink's cause", op: messages.OpSavepoint,
			ev:   step(job, id, messages.OpSavepoint, messages.OperationFailed, savepointing, running, "savepoint_failed", "java.io.IOException: bucket gone"),
			want: failed, line: "RUNNING (savepoint_failed: java.io.IOException: bucket gone)", failState: "RUNNING", failReason: "savepoint_failed"},
		{name: "timed out", op: messages.OpSuspend, ev: step(job, id, messages.OpSuspend, messages.OperationFailed, suspending, running, "operation_timeout", "deadline"),
			want: failed, line: "RUNNING (operation_timeout: deadline)", failState: "RUNNING", failReason: "operation_timeout"},
		{name: "cancel completed", op: messages.OpCancel, ev: step(job, id, messages.OpCancel, messages.OperationCompleted, messages.StateCancelling, messages.StateCanceled, "canceled", ""),
			want: succeeded, line: "CANCELED (canceled)"},
		{name: "delete completed", op: messages.OpDelete, ev: step(job, id, messages.OpDelete, messages.OperationCompleted, deleting, messages.StateTerminated, "deleted", ""),
			want: succeeded, line: "TERMINATED (deleted)"},
		{name: "dispose completed", op: messages.OpDispose, ev: step(job, id, messages.OpDispose, messages.OperationCompleted, running, running, "savepoint_disposed", ""),
			want: succeeded, line: "RUNNING (savepoint_disposed)"},
		{name: "another job's step", op: messages.OpSuspend, ev: step(other, id, messages.OpSuspend, messages.OperationCompleted, suspending, messages.StateSuspended, "suspended", "")},
		{name: "another operation's completion", op: messages.OpSuspend,
			ev:   step(job, "sp-1", messages.OpSavepoint, messages.OperationCompleted, savepointing, running, "savepoint_completed", ""),
			line: "RUNNING (savepoint_completed) [savepoint sp-1, not this request]"},
		{name: "another operation's failure", op: messages.OpSavepoint,
			ev:   step(job, "sp-1", messages.OpSavepoint, messages.OperationFailed, savepointing, running, "savepoint_failed", "boom"),
			line: "RUNNING (savepoint_failed: boom) [savepoint sp-1, not this request]"},
		{name: "job fails during a suspend", op: messages.OpSuspend, ev: jobChanged(job, suspending, messages.StateFailed, "job_failed", "boom"),
			want: failed, line: "FAILED (job_failed: boom)", failState: "FAILED", failReason: "job_failed"},
		{name: "job lost during a savepoint", op: messages.OpSavepoint, ev: jobChanged(job, savepointing, messages.StateLost, "jobmanager_gone", ""),
			want: failed, line: "LOST (jobmanager_gone)", failState: "LOST", failReason: "jobmanager_gone"},
		{name: "job cancelled otherwise during a cancel", op: messages.OpCancel, ev: jobChanged(job, messages.StateCancelling, messages.StateCanceled, "job_canceled", ""),
			line: "CANCELED (job_canceled)"},
		{name: "job fails during a delete", op: messages.OpDelete, ev: jobChanged(job, deleting, messages.StateFailed, "job_failed", ""),
			line: "FAILED (job_failed)"},
		{name: "resume handed over", op: messages.OpResume,
			ev:   step(job, id, messages.OpResume, messages.OperationCompleted, messages.StateSuspended, messages.StateSuspended, "resumed", ""),
			line: "SUSPENDED (resumed)", stage: startingNewRun},
		{name: "resume failed", op: messages.OpResume,
			ev:   step(job, id, messages.OpResume, messages.OperationFailed, messages.StateSuspended, messages.StateSuspended, "resume_failed", "no savepoint"),
			want: failed, line: "SUSPENDED (resume_failed: no savepoint)", failState: "SUSPENDED", failReason: "resume_failed"},
		{name: "the old run ends during a resume", op: messages.OpResume, ev: jobChanged(job, messages.StateSuspended, messages.StateTerminated, "cleaned_up", ""),
			line: "TERMINATED (cleaned_up)"},
		{name: "the new run starts", op: messages.OpResume, ev: runChanged(job, id, "", messages.StateStarting, "", ""),
			line: "STARTING", stage: "STARTING"},
		{name: "the new run runs", op: messages.OpResume, ev: runChanged(job, id, messages.StateStarting, running, "", ""),
			want: succeeded, line: "RUNNING"},
		{name: "the new run finishes", op: messages.OpResume, ev: runChanged(job, id, running, messages.StateFinished, "", ""),
			want: succeeded, line: "FINISHED"},
		{name: "the new run is lost", op: messages.OpResume, ev: runChanged(job, id, messages.StateStarting, messages.StateLost, "jobmanager_gone", ""),
			want: failed, line: "LOST (jobmanager_gone)", failState: "LOST", failReason: "jobmanager_gone"},
		{name: "the new run's build fails", op: messages.OpResume,
			ev:   &messages.BuildFailed{RequestID: id, Job: job, Mode: messages.ModeApplication, Reason: "base_image_missing", Message: "gone", Time: time.Now()},
			want: failed, line: "build failed: base_image_missing: gone", failState: "BUILD_FAILED", failReason: "base_image_missing"},
		{name: "another run's deploy failure", op: messages.OpResume,
			ev: &messages.DeployFailed{RequestID: "submit-9", Job: job, Mode: messages.ModeApplication, Reason: "quota_exceeded", Message: "quota", Time: time.Now()}},
		{name: "a deploy failure while suspending", op: messages.OpSuspend,
			ev: &messages.DeployFailed{RequestID: id, Job: job, Mode: messages.ModeApplication, Reason: "quota_exceeded", Message: "quota", Time: time.Now()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &messages.ControlRequested{RequestID: id, Job: job, Operation: tc.op}
			j := judgeControl(req, tc.ev)
			if got, want := j.verdict, tc.want; got != want {
				t.Errorf("verdict = %v, want %v", got, want)
			}
			if got, want := j.line, tc.line; got != want {
				t.Errorf("line = %q, want %q", got, want)
			}
			if got, want := j.stage, tc.stage; got != want {
				t.Errorf("stage = %q, want %q", got, want)
			}
			var jf *JobFailedError
			switch {
			case tc.failState == "" && j.err != nil:
				t.Errorf("err = %v, want nil", j.err)
			case tc.failState != "" && !errors.As(j.err, &jf):
				t.Errorf("err = %v, want a *JobFailedError", j.err)
			case tc.failState != "" && (jf.RequestID != id || jf.State != tc.failState || jf.Reason != tc.failReason):
				t.Errorf("JobFailedError = %+v, want request %s state %s reason %s", jf, id, tc.failState, tc.failReason)
			}
		})
	}
}

func TestControlHelpSaysWaitNeedsADay2Worker(t *testing.T) {
	for _, c := range []string{"cancel", "suspend", "resume", "savepoint", "delete", "dispose"} {
		out, err := execute(t, c, "--help")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "requires a track\nworker with day-2 operations") || !strings.Contains(out, "docs/day2.md") {
			t.Errorf("%s --help does not say that --wait needs a track worker with day-2 operations:\n%s", c, out)
		}
	}
}

func TestControlOutcomes(t *testing.T) {
	for _, op := range messages.Operations() {
		if op == messages.OpUpgrade {
			continue // a submit request, followed by submit --wait
		}
		if oc, ok := outcomes[op]; !ok || oc.waiting == "" {
			t.Errorf("operation %s has no outcome for --wait", op)
		}
	}
}
