package messages_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

func TestControlRequestedValidate(t *testing.T) {
	control := func(op messages.Operation, edit func(r *messages.ControlRequested)) *messages.ControlRequested {
		r := &messages.ControlRequested{RequestID: "op-1", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "orders"}, Operation: op}
		if edit != nil {
			edit(r)
		}
		return r
	}
	for _, tt := range []struct {
		name string
		req  *messages.ControlRequested
		want messages.FieldErrors
	}{
		{"cancel", control(messages.OpCancel, nil), nil},
		{"suspend with drain and a directory", control(messages.OpSuspend, func(r *messages.ControlRequested) {
			r.Savepoint = &messages.SavepointOptions{Directory: "s3://b/sp", Format: messages.FormatNative, Drain: true}
			r.TimeoutSeconds = 600
		}), nil},
		{"savepoint", control(messages.OpSavepoint, func(r *messages.ControlRequested) { r.Savepoint = &messages.SavepointOptions{} }), nil},
		{"savepoint cannot drain", control(messages.OpSavepoint, func(r *messages.ControlRequested) {
			r.Savepoint = &messages.SavepointOptions{Drain: true}
		}), fe("savepoint.drain", "only with operation suspend")},
		{"resume from a path", control(messages.OpResume, func(r *messages.ControlRequested) {
			r.Restore = &messages.RestoreOptions{From: messages.RestoreFromPath, Path: "s3://b/sp/savepoint-1", RestoreMode: messages.RestoreClaim}
		}), nil},
		{"resume from nothing with a restore mode", control(messages.OpResume, func(r *messages.ControlRequested) {
			r.Restore = &messages.RestoreOptions{From: messages.RestoreFromNone, RestoreMode: messages.RestoreClaim}
		}), fe("restore", "allow_non_restored_state and restore_mode need state to restore from")},
		{"resume from a checkpoint with a path", control(messages.OpResume, func(r *messages.ControlRequested) {
			r.Restore = &messages.RestoreOptions{From: messages.RestoreFromCheckpoint, Path: "s3://b/x"}
		}), fe("restore.path", "only with from: path")},
		{"delete forced", control(messages.OpDelete, func(r *messages.ControlRequested) { r.Force = true }), nil},
		{"dispose without a path", control(messages.OpDispose, nil), fe("savepoint_path", "required with operation dispose")},
		{"dispose a path with a NUL", control(messages.OpDispose, func(r *messages.ControlRequested) { r.SavepointPath = "s3://b/\x00" }),
			fe("savepoint_path", "must not contain control characters")},
		{"unknown operation", control("reboot", nil), fe("operation", `must be one of cancel, suspend, resume, restart, savepoint, delete, dispose, got "reboot" (an upgrade is a submit request for the job)`)},
		{"upgrade is not a control operation", control("upgrade", nil), fe("operation", `must be one of cancel, suspend, resume, restart, savepoint, delete, dispose, got "upgrade" (an upgrade is a submit request for the job)`)},
		{"restart", control(messages.OpRestart, nil), nil},
		{"restart from a checkpoint, claimed, non-restored state allowed", control(messages.OpRestart, func(r *messages.ControlRequested) {
			r.Restore = &messages.RestoreOptions{From: messages.RestoreFromCheckpoint, AllowNonRestoredState: true, RestoreMode: messages.RestoreClaim}
		}), nil},
		{"restart takes no savepoint options", control(messages.OpRestart, func(r *messages.ControlRequested) {
			r.Savepoint = &messages.SavepointOptions{Directory: "s3://b/sp"}
			r.TimeoutSeconds = 60
		}), fe("savepoint", "only with operation suspend or savepoint", "timeout_seconds", "only with operation suspend or savepoint")},
		{"restore only with resume or restart", control(messages.OpCancel, func(r *messages.ControlRequested) {
			r.Restore = &messages.RestoreOptions{From: messages.RestoreFromNone}
		}), fe("restore", "only with operation resume or restart")},
		{"missing everything", &messages.ControlRequested{}, fe(
			"job.cluster_id", "required", "job.namespace", "required", "operation", "required", "request_id", "required")},
		{"timeout on cancel", control(messages.OpCancel, func(r *messages.ControlRequested) { r.TimeoutSeconds = 60 }),
			fe("timeout_seconds", "only with operation suspend or savepoint")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			var got messages.FieldErrors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Validate() = %T %v, want FieldErrors", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
