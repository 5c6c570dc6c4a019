package track

import (
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

func TestControlSavepointPaths(t *testing.T) {
	h := &ControlHandler{SavepointDirs: []string{"s3://flink-state/", "hdfs:///flink/savepoints"}}
	for _, tc := range []struct {
		name string
		req  messages.ControlRequested
		ok   bool
	}{
		{"no directory", messages.ControlRequested{Operation: messages.OpSuspend}, true},
		{"allowed bucket", messages.ControlRequested{Operation: messages.OpSavepoint, Savepoint: &messages.SavepointOptions{Directory: "s3://flink-state/team-a"}}, true},
		{"allowed prefix itself", messages.ControlRequested{Operation: messages.OpSavepoint, Savepoint: &messages.SavepointOptions{Directory: "hdfs:///flink/savepoints"}}, true},
		{"allowed sub-directory", messages.ControlRequested{Operation: messages.OpSavepoint, Savepoint: &messages.SavepointOptions{Directory: "hdfs:///flink/savepoints/x"}}, true},
		{"sibling with the same prefix", messages.ControlRequested{Operation: messages.OpSavepoint, Savepoint: &messages.SavepointOptions{Directory: "hdfs:///flink/savepoints-evil"}}, false},
		{"another bucket", messages.ControlRequested{Operation: messages.OpSuspend, Savepoint: &messages.SavepointOptions{Directory: "s3://attacker/x"}}, false},
		{"bucket name prefix", messages.ControlRequested{Operation: messages.OpSuspend, Savepoint: &messages.SavepointOptions{Directory: "s3://flink-state-evil/x"}}, false},
		{"dot-dot escape", messages.ControlRequested{Operation: messages.OpSuspend, Savepoint: &messages.SavepointOptions{Directory: "s3://flink-state/../attacker"}}, false},
		{"restore from elsewhere", messages.ControlRequested{Operation: messages.OpResume, Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: "file:///etc/x"}}, false},
		{"restore from allowed", messages.ControlRequested{Operation: messages.OpResume, Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: "s3://flink-state/sp-1"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := h.checkPaths(&tc.req); (msg == "") != tc.ok {
				t.Fatalf("checkPaths() = %q, want allowed %v", msg, tc.ok)
			}
		})
	}
	if msg := (&ControlHandler{}).checkPaths(&messages.ControlRequested{Savepoint: &messages.SavepointOptions{Directory: "s3://any/x"}}); msg != "" {
		t.Fatalf("no allow-list refused %q", msg)
	}
}
