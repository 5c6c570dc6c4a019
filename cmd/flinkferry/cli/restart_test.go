package cli

import (
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// TestRestartWaitFollowsTheNewRun: --wait reads a restart's steps, then
// the run it started, as for resume.
func TestRestartWaitFollowsTheNewRun(t *testing.T) {
	job := messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}
	const id = "rs-1"
	req := &messages.ControlRequested{RequestID: id, Job: job, Operation: messages.OpRestart}
	for _, tc := range []struct {
		name  string
		ev    messages.Event
		want  verdict
		stage string
	}{
		{"requested", step(job, id, messages.OpRestart, messages.OperationRequested, messages.StateRunning, messages.StateRedeploying, "restart_requested", ""),
			pending, string(messages.StateRedeploying)},
		{"savepoint taken", withSavepoint(step(job, id, messages.OpRestart, messages.OperationInProgress, messages.StateRedeploying, messages.StateRedeploying, "savepoint_completed", ""), "s3://sp/1"),
			pending, string(messages.StateRedeploying)},
		{"handed over", step(job, id, messages.OpRestart, messages.OperationCompleted, messages.StateRedeploying, messages.StateRedeploying, "restarted", ""),
			pending, startingNewRun},
		{"failed", step(job, id, messages.OpRestart, messages.OperationFailed, messages.StateRedeploying, messages.StateRunning, "restart_failed", "disk full"),
			failed, ""},
		{"the new run runs", runChanged(job, id, messages.StateStarting, messages.StateRunning, "", ""), succeeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := judgeControl(req, tc.ev)
			if j.verdict != tc.want || j.stage != tc.stage {
				t.Fatalf("judgeControl() = verdict %v stage %q (line %q), want %v %q", j.verdict, j.stage, j.line, tc.want, tc.stage)
			}
		})
	}
}
