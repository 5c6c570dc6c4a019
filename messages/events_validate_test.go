package messages_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

const digest = "@sha256:3b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a"

// validateCase is one table entry for an event type T.
type validateCase[T messages.Event] struct {
	name   string
	base   string
	mutate func(e T)
	want   messages.FieldErrors
}

func runValidate[T messages.Event](t *testing.T, tests []validateCase[T]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := load[T](t, tt.base)
			if tt.mutate != nil {
				tt.mutate(e)
			}
			if diff := cmp.Diff(tt.want, fieldErrorsOf(t, e.Validate())); diff != "" {
				t.Fatalf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageBuiltValidate(t *testing.T) {
	const (
		app     = "image-built.json"
		session = "image-built-session.json"
	)
	runValidate(t, []validateCase[*messages.ImageBuilt]{
		{name: "valid application", base: app},
		{name: "valid session", base: session},
		{"common fields missing", app, func(e *messages.ImageBuilt) {
			e.RequestID, e.Job, e.Mode, e.Time = "", messages.JobRef{}, "", time.Time{}
			e.Request = messages.SubmitRequested{}
		}, fe(
			"job.cluster_id", "required",
			"job.namespace", "required",
			"mode", "required",
			"request", "required",
			"request_id", "required",
			"time", "required",
		)},
		{"image missing in application", app, func(e *messages.ImageBuilt) { e.Image = "" }, fe("image", "required")},
		{"image with a tag", app, func(e *messages.ImageBuilt) { e.Image = "registry.example.com/wordcount:1.0" },
			fe("image", "must be pinned by digest, without a tag: registry.example.com/team/job@sha256:<64 lowercase hex>")},
		{"image with a tag and a digest", app, func(e *messages.ImageBuilt) { e.Image = "registry.example.com/wordcount:1.0" + digest },
			fe("image", "must be pinned by digest, without a tag: registry.example.com/team/job@sha256:<64 lowercase hex>")},
		{"image with sha512", app, func(e *messages.ImageBuilt) {
			e.Image = "registry.example.com/wordcount@sha512:" + strings.Repeat("a", 128)
		},
			fe("image", "must use a sha256 digest: registry.example.com/team/job@sha256:<64 lowercase hex>")},
		{"image digest uppercase", app, func(e *messages.ImageBuilt) { e.Image = "registry.example.com/wordcount" + strings.ToUpper(digest) },
			fe("image", "must use a sha256 digest: registry.example.com/team/job@sha256:<64 lowercase hex>")},
		{"image with localhost registry", app, func(e *messages.ImageBuilt) { e.Image = "localhost:5000/wordcount" + digest }, nil},
		{"jar_artifact missing in session", session, func(e *messages.ImageBuilt) { e.JarArtifact = "" }, fe("jar_artifact", "required")},
		{"base_image bad", app, func(e *messages.ImageBuilt) { e.BaseImage = "Flink:1.20" },
			fe("base_image", "must be an image reference such as flink:1.20-java17 or registry.example.com/team/flink@sha256:<hex>")},
		{"base_digest with tag", app, func(e *messages.ImageBuilt) { e.BaseDigest = "flink:1.20" },
			fe("base_digest", "must be pinned by digest, without a tag: registry.example.com/team/job@sha256:<64 lowercase hex>")},
		{"negative numbers", app, func(e *messages.ImageBuilt) { e.SizeBytes, e.DurationMS = -1, -2 },
			fe("duration_ms", "must not be negative", "size_bytes", "must not be negative")},
		{"jar_sha256 missing", app, func(e *messages.ImageBuilt) { e.JarSHA256 = "" }, fe("jar_sha256", "required")},
		{"session-cluster: base image only", app, func(e *messages.ImageBuilt) {
			e.Mode, e.JarSHA256, e.Request.Mode, e.Request.Program = messages.ModeSessionCluster, "", messages.ModeSessionCluster, nil
		}, nil},
		{"request invalid", app, func(e *messages.ImageBuilt) { e.Request.Flink.Version = "1.0" },
			fe("request.flink.version", "unsupported Flink version 1.0: supported are 1.17 to 1.20 and 2.x")},
		{"request of another job", app, func(e *messages.ImageBuilt) {
			e.Request.RequestID = "other"
			e.Request.Job.ClusterID = "other"
			e.Request.Mode = messages.ModeSessionCluster
			e.Request.Program = nil
		}, fe(
			"request.job", `must equal job "/flink-jobs/wordcount"`,
			"request.mode", `must equal mode "application"`,
			"request.request_id", `must equal request_id "wordcount-1"`,
		)},
		{"labels checked", app, func(e *messages.ImageBuilt) { e.Labels = map[string]string{"component": "x"} },
			fe("labels[component]", "key is reserved: Flink and flinkferry set it on the cluster's objects")},
	})
}

func TestBuildFailedValidate(t *testing.T) {
	runValidate(t, []validateCase[*messages.BuildFailed]{
		{name: "valid", base: "build-failed.json"},
		{"reason missing", "build-failed.json", func(e *messages.BuildFailed) { e.Reason = "" }, fe("reason", "required")},
		{"reason not snake_case", "build-failed.json", func(e *messages.BuildFailed) { e.Reason = "ChecksumMismatch" },
			fe("reason", "must be a snake_case machine code such as artifact_not_found")},
		{"reason too long", "build-failed.json", func(e *messages.BuildFailed) { e.Reason = strings.Repeat("a", 65) },
			fe("reason", "must be at most 64 characters, got 65")},
		{"message blank", "build-failed.json", func(e *messages.BuildFailed) { e.Message = " \n" }, fe("message", "required")},
		{"message too long", "build-failed.json", func(e *messages.BuildFailed) { e.Message = strings.Repeat("a", 32<<10+1) },
			fe("message", "must be at most 32768 bytes, got 32769")},
		{"mode unknown", "build-failed.json", func(e *messages.BuildFailed) { e.Mode = "yarn" },
			fe("mode", `must be one of application, session, session-cluster, got "yarn"`)},
	})
}

func TestDeployFailedValidate(t *testing.T) {
	runValidate(t, []validateCase[*messages.DeployFailed]{
		{name: "valid", base: "deploy-failed.json"},
		{"reason and message missing", "deploy-failed.json", func(e *messages.DeployFailed) { e.Reason, e.Message = "", "" },
			fe("message", "required", "reason", "required")},
		{"reason with dash", "deploy-failed.json", func(e *messages.DeployFailed) { e.Reason = "image-pull-failed" },
			fe("reason", "must be a snake_case machine code such as artifact_not_found")},
		{"time missing", "deploy-failed.json", func(e *messages.DeployFailed) { e.Time = time.Time{} }, fe("time", "required")},
	})
}

func TestDeployedValidate(t *testing.T) {
	const app = "deployed.json"
	runValidate(t, []validateCase[*messages.Deployed]{
		{name: "valid", base: app},
		{"flink_job_id missing in application", app, func(e *messages.Deployed) { e.FlinkJobID = "" }, fe("flink_job_id", "required in mode application")},
		{"flink_job_id bad", app, func(e *messages.Deployed) { e.FlinkJobID = "xyz" }, fe("flink_job_id", "must be 32 lowercase hexadecimal characters")},
		{"session-cluster", app, func(e *messages.Deployed) { e.Mode = messages.ModeSessionCluster; e.FlinkJobID = "" }, nil},
		{"flink_job_id in session-cluster", app, func(e *messages.Deployed) { e.Mode = messages.ModeSessionCluster },
			fe("flink_job_id", "not allowed in mode session-cluster")},
		{"session without session_cluster_id nor image", app, func(e *messages.Deployed) { e.Mode = messages.ModeSession; e.Image = "" },
			fe("session_cluster_id", "required")},
		{"session_cluster_id in application", app, func(e *messages.Deployed) { e.SessionClusterID = "shared" },
			fe("session_cluster_id", "not allowed unless mode is session")},
		{"image missing", app, func(e *messages.Deployed) { e.Image = "" }, fe("image", "required")},
		{"rest_endpoint not http", app, func(e *messages.Deployed) { e.RestEndpoint = "wordcount-rest.flink-jobs:8081" },
			fe("rest_endpoint", "must be an absolute http or https URL")},
		{"web_ui_url with credentials", app, func(e *messages.Deployed) { e.WebUIURL = "https://admin:admin@flink.example.com/" },
			fe("web_ui_url", "must not contain credentials: configure them in the workers")},
		{"object_uids bad", app, func(e *messages.Deployed) {
			e.ObjectUIDs = map[string]string{
				"deployment/wordcount": "u1",
				"Deployment":           "u2",
				"Service/Wordcount":    "u3",
				"ConfigMap/cm":         "",
				"Pod/p":                strings.Repeat("u", 129),
			}
		}, fe(
			"object_uids[ConfigMap/cm]", "uid required",
			"object_uids[Deployment]", "key must be <Kind>/<name>, e.g. Deployment/wordcount",
			"object_uids[Pod/p]", "uid must be at most 128 characters",
			"object_uids[Service/Wordcount]", "key must be <Kind>/<name> with a Kubernetes object name",
			"object_uids[deployment/wordcount]", "key must be <Kind>/<name>, e.g. Deployment/wordcount",
		)},
	})
}

func TestJobStatusChangedValidate(t *testing.T) {
	const base = "job-status-changed.json"
	runValidate(t, []validateCase[*messages.JobStatusChanged]{
		{name: "valid", base: base},
		{"first observation", base, func(e *messages.JobStatusChanged) { e.From = "" }, nil},
		{"state from a newer tracker", base, func(e *messages.JobStatusChanged) { e.To = "SCALING_UP" }, nil},
		{"to missing", base, func(e *messages.JobStatusChanged) { e.To = "" }, fe("to", "required")},
		{"to same as from", base, func(e *messages.JobStatusChanged) { e.To = e.From }, fe("to", "must differ from from (unless the event is an operation's step)")},
		{"operation step without a state change", base, func(e *messages.JobStatusChanged) {
			e.To = e.From
			e.Operation = &messages.OperationRef{RequestID: "dispose-1", Operation: messages.OpDispose, Status: messages.OperationCompleted}
		}, nil},
		{"operation step malformed", base, func(e *messages.JobStatusChanged) {
			e.Operation = &messages.OperationRef{RequestID: "a b", Operation: "stop", Status: "done"}
		}, fe("operation.operation", `must be one of cancel, suspend, resume, savepoint, delete, dispose, got "stop"`,
			"operation.request_id", "must contain only letters, digits, '.', '_', ':' and '-'",
			"operation.status", `must be one of requested, in_progress, completed, failed, got "done"`)},
		{"states lowercase", base, func(e *messages.JobStatusChanged) { e.From, e.To = "running", "failed" }, fe(
			"from", `must be an UPPER_SNAKE_CASE job state such as RUNNING, got "running"`,
			"to", `must be an UPPER_SNAKE_CASE job state such as RUNNING, got "failed"`,
		)},
		{"flink_job_id missing", base, func(e *messages.JobStatusChanged) { e.FlinkJobID = "" }, fe("flink_job_id", "required in mode application")},
		{"session cluster lost", base, func(e *messages.JobStatusChanged) {
			e.Mode, e.FlinkJobID, e.From, e.To = messages.ModeSessionCluster, "", messages.StateSilent, messages.StateLost
		}, nil},
		{"reason bad", base, func(e *messages.JobStatusChanged) { e.Reason = "Job failed" },
			fe("reason", "must be a snake_case machine code such as artifact_not_found")},
		{"reason optional", base, func(e *messages.JobStatusChanged) { e.Reason, e.Message = "", "" }, nil},
		{"web_ui_url bad", base, func(e *messages.JobStatusChanged) { e.WebUIURL = "ftp://x" }, fe("web_ui_url", "must be an absolute http or https URL")},
	})
}
