package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// jobChanged is a status event of job: a transition the track worker
// reports (RequestID is the job's submission's, as today).
func jobChanged(job messages.JobRef, from, to messages.JobState, reason, msg string) *messages.JobStatusChanged {
	return &messages.JobStatusChanged{
		RequestID: "submit-1", Job: job, Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
		From: from, To: to, Reason: reason, Message: msg, Time: time.Now(),
	}
}

// refused is the status event refusing request id of job.
func refused(job messages.JobRef, id, reason string) *messages.JobStatusChanged {
	e := jobChanged(job, "", messages.StateRunning, reason, "another operation is in flight")
	e.RequestID = id
	return e
}

const testSavepoint = "s3://state/wc/savepoints/savepoint-1a2b3c-0123456789ab"

func TestControlWaitEndsOnTheOperationsOutcome(t *testing.T) {
	k, cfg := submitKafka(t)
	const (
		running      = messages.StateRunning
		suspending   = messages.JobState("SUSPENDING")
		savepointing = messages.JobState("SAVEPOINTING")
	)
	// The track worker of docs/day2.md, played per request: the cluster id
	// is the test's name.
	respondOn(t, k, cfg, cfg.Topics().Control, messages.TypeControlRequested, func(r *messages.ControlRequested) []messages.Event {
		j := r.Job
		switch j.ClusterID {
		case "suspend-ok":
			other := j
			other.ClusterID = "other"
			return []messages.Event{
				jobChanged(other, running, messages.StateSuspended, "other_job", ""), // another job: ignored
				refused(j, "someone-else", reasonOperationInProgress),                // another request: no verdict
				jobChanged(j, running, suspending, "suspend_requested", ""),
				withFields{jobChanged(j, suspending, messages.StateSuspended, reasonSuspended, testSavepoint), map[string]any{"savepoint_path": testSavepoint}},
			}
		case "suspend-fails":
			return []messages.Event{
				jobChanged(j, running, suspending, "suspend_requested", ""),
				jobChanged(j, suspending, running, reasonSavepointFailed, "Checkpoint expired before completing"),
			}
		case "suspend-refused":
			return []messages.Event{refused(j, r.RequestID, reasonOperationInProgress)}
		case "savepoint-ok":
			return []messages.Event{
				jobChanged(j, running, savepointing, "savepoint_requested", ""),
				withFields{jobChanged(j, savepointing, running, reasonSavepointCompleted, ""), map[string]any{"savepoint_path": testSavepoint}},
			}
		case "savepoint-job-fails":
			return []messages.Event{
				jobChanged(j, running, savepointing, "savepoint_requested", ""),
				jobChanged(j, savepointing, messages.StateFailed, "job_failed", "java.lang.RuntimeException: boom"),
			}
		case "cancel-ok":
			return []messages.Event{
				jobChanged(j, running, messages.StateCancelling, "", ""),
				jobChanged(j, messages.StateCancelling, messages.StateCanceled, "", ""),
			}
		case "resume-ok":
			return []messages.Event{
				jobChanged(j, messages.StateSuspended, messages.StateStarting, "", ""),
				jobChanged(j, messages.StateStarting, running, "", ""),
			}
		case "delete-ok":
			return []messages.Event{jobChanged(j, running, messages.StateTerminated, reasonDeleted, "")}
		case "dispose-ok":
			return []messages.Event{jobChanged(j, "", messages.StateSuspended, reasonSavepointDisposed, r.SavepointPath)}
		case "dispose-fails":
			return []messages.Event{jobChanged(j, "", messages.StateSuspended, reasonDisposeFailed, "no such savepoint")}
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
			lines: []string{"SUSPENDING (suspend_requested)", "SUSPENDED (suspended: " + testSavepoint + "), savepoint " + testSavepoint}},
		{name: "suspend-fails", args: []string{"suspend"},
			lines:     []string{"SUSPENDING (suspend_requested)", "RUNNING (savepoint_failed: Checkpoint expired before completing)"},
			failState: "RUNNING", failReason: reasonSavepointFailed},
		{name: "suspend-refused", args: []string{"suspend"},
			lines:     []string{"RUNNING (operation_in_progress: another operation is in flight)"},
			failState: "RUNNING", failReason: reasonOperationInProgress},
		{name: "savepoint-ok", args: []string{"savepoint"},
			lines: []string{"SAVEPOINTING (savepoint_requested)", "RUNNING (savepoint_completed), savepoint " + testSavepoint}},
		{name: "savepoint-job-fails", args: []string{"savepoint"},
			lines:     []string{"FAILED (job_failed: java.lang.RuntimeException: boom)"},
			failState: "FAILED", failReason: "job_failed"},
		{name: "cancel-ok", args: []string{"cancel"}, lines: []string{"CANCELLING", "CANCELED"}},
		{name: "resume-ok", args: []string{"resume"}, lines: []string{"STARTING", "RUNNING"}},
		{name: "delete-ok", args: []string{"delete"}, lines: []string{"TERMINATED (deleted)"}},
		{name: "dispose-ok", args: []string{"dispose", testSavepoint}, lines: []string{"SUSPENDED (savepoint_disposed: " + testSavepoint + ")"}},
		{name: "dispose-fails", args: []string{"dispose", testSavepoint},
			lines:     []string{"SUSPENDED (dispose_failed: no such savepoint)"},
			failState: "SUSPENDED", failReason: reasonDisposeFailed},
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
			if strings.Contains(out, "other_job") {
				t.Errorf("output shows another job's event:\n%s", out)
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
		if oc, ok := outcomes[op]; !ok || oc.waiting == "" || len(oc.okStates)+len(oc.okReasons) == 0 {
			t.Errorf("operation %s has no outcome for --wait", op)
		}
	}
}
