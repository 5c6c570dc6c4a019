package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// TestRestartProducesOneRequestEach: flinkferry restart writes one
// control request per call on kfake, its flags in the request's restore
// options.
func TestRestartProducesOneRequestEach(t *testing.T) {
	k, cfg := submitKafka(t)
	job := messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}
	tests := []struct {
		args []string
		want messages.ControlRequested
	}{
		{[]string{"restart", "wordcount", "--request-id", "rs-1"},
			messages.ControlRequested{RequestID: "rs-1", Job: job, Operation: messages.OpRestart}},
		{[]string{"restart", "wordcount", "--request-id", "rs-2", "--from", "checkpoint", "--allow-non-restored-state", "--restore-mode", "claim"},
			messages.ControlRequested{RequestID: "rs-2", Job: job, Operation: messages.OpRestart,
				Restore: &messages.RestoreOptions{From: messages.RestoreFromCheckpoint, AllowNonRestoredState: true, RestoreMode: messages.RestoreClaim}}},
		{[]string{"restart", "wordcount", "--request-id", "rs-3", "--from", "s3://state/wc/savepoints/savepoint-1a2b3c", "--restore-mode", "NO_CLAIM"},
			messages.ControlRequested{RequestID: "rs-3", Job: job, Operation: messages.OpRestart,
				Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: "s3://state/wc/savepoints/savepoint-1a2b3c", RestoreMode: messages.RestoreNoClaim}}},
		{[]string{"restart", "wordcount", "--request-id", "rs-4", "--allow-non-restored-state"},
			messages.ControlRequested{RequestID: "rs-4", Job: job, Operation: messages.OpRestart,
				Restore: &messages.RestoreOptions{AllowNonRestoredState: true}}},
		{[]string{"restart", "wordcount", "--request-id", "rs-5", "--from", "none"},
			messages.ControlRequested{RequestID: "rs-5", Job: job, Operation: messages.OpRestart, Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}},
	}
	for _, tc := range tests {
		t.Run(tc.want.RequestID, func(t *testing.T) {
			out, errOut, err := runCLI(t, cfg, append(tc.args, "-n", "flink-jobs", "--kube-cluster", "default")...)
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out, errOut)
			}
			if line := "sent " + tc.want.RequestID + ": restart " + tc.want.JobKey() + " to flinkferry.control\n"; out != line {
				t.Errorf("stdout = %q, want %q", out, line)
			}
		})
	}
	got := controlRecords(t, k, cfg, len(tests))
	for _, tc := range tests {
		if r := got[tc.want.RequestID]; r == nil || !reflect.DeepEqual(*r, tc.want) {
			t.Errorf("request %s on the control topic = %+v, want %+v", tc.want.RequestID, r, tc.want)
		}
	}
}

// TestRestartRefusesBadFlags: flags the request refuses produce nothing.
func TestRestartRefusesBadFlags(t *testing.T) {
	k, cfg := submitKafka(t)
	for _, tc := range []struct {
		name   string
		args   []string
		fields []string
	}{
		{"restore options without state", []string{"restart", "wordcount", "--from", "none", "--restore-mode", "CLAIM"}, []string{"restore"}},
		{"unknown restore mode", []string{"restart", "wordcount", "--restore-mode", "steal"}, []string{"restore.restore_mode"}},
		{"empty path and a bad request id", []string{"restart", "wordcount", "--from=", "--request-id", "a b"}, []string{"request_id", "restore.path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, cfg, append(tc.args, "--redis-url", noRedis)...)
			var ire *InvalidRequestError
			if !errors.As(err, &ire) {
				t.Fatalf("error = %v, want *InvalidRequestError\n%s", err, errOut)
			}
			if got, want := len(ire.Problems), len(tc.fields); got != want {
				t.Errorf("problems = %d (%v), want %d", got, ire.Problems, want)
			}
			for _, f := range tc.fields {
				if !strings.Contains(errOut, "\n  "+f+": ") {
					t.Errorf("stderr lacks a line for %s:\n%s", f, errOut)
				}
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
	controlRecords(t, k, cfg, 0)
}

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
