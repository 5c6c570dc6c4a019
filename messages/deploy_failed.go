package messages

import "time"

// Machine codes of DeployFailed.Reason. The list is open: consumers must
// accept codes they do not know.
const (
	// DeployReasonInvalidPodTemplate: Flink or Kubernetes rejected a pod template.
	DeployReasonInvalidPodTemplate = "invalid_pod_template"
	// DeployReasonKubernetesRefused: the Kubernetes API refused to create an
	// object (RBAC, quota, admission webhook, invalid object).
	DeployReasonKubernetesRefused = "kubernetes_refused"
	// DeployReasonUnknownKubeCluster: job.kube_cluster names no configured cluster.
	DeployReasonUnknownKubeCluster = "unknown_kube_cluster"
	// DeployReasonRequestIDConflict: the job's cluster runs a request with
	// the same request id and other content (a new version needs a new
	// request id); the message names both content hashes.
	DeployReasonRequestIDConflict = "request_id_conflict"
	// DeployReasonClusterIDTaken: another job already uses job.cluster_id.
	DeployReasonClusterIDTaken = "cluster_id_taken"
	// DeployReasonMoveSourceNotRunning: a move (upgrade.from) names a place
	// where no JobManager Deployment runs (a session job, which is not
	// moved; a suspended, ended or unknown job): nothing is moved and
	// nothing deployed (docs/upgrades.md, "Move between clusters").
	DeployReasonMoveSourceNotRunning = "move_source_not_running"
	// DeployReasonSessionClusterNotFound: the session cluster of a session job
	// does not exist or does not answer.
	DeployReasonSessionClusterNotFound = "session_cluster_not_found"
	// DeployReasonJobSubmissionRefused: the session cluster's REST API
	// refused the jar or the job.
	DeployReasonJobSubmissionRefused = "job_submission_refused"
	// DeployReasonImagePullFailed: the JobManager pod cannot pull its image
	// (ImagePullBackOff, ErrImagePull).
	DeployReasonImagePullFailed = "image_pull_failed"
	// DeployReasonCrashLoop: the JobManager container keeps crashing (CrashLoopBackOff).
	DeployReasonCrashLoop = "crash_loop"
	// DeployReasonContainerConfigError: the JobManager container cannot be
	// created (CreateContainerConfigError, RunContainerError).
	DeployReasonContainerConfigError = "container_config_error"
	// DeployReasonRegistryAuthRefused: the registry refused the submit
	// worker's credentials for a session job's jar artifact (HTTP 401/403).
	DeployReasonRegistryAuthRefused = "registry_auth_refused"
	// DeployReasonBadJarArtifact: a session job's jar artifact is missing
	// from the registry, is not a flinkferry jar artifact, or the registry
	// refused to serve it (HTTP 4xx).
	DeployReasonBadJarArtifact = "bad_jar_artifact"
	// DeployReasonNamespaceNotAllowed: job.namespace is not in the target
	// Kubernetes cluster's allow-list.
	DeployReasonNamespaceNotAllowed = "namespace_not_allowed"
	// DeployReasonServiceAccountNotAllowed: the JobManager's service account
	// is not in the target Kubernetes cluster's allow-list.
	DeployReasonServiceAccountNotAllowed = "service_account_not_allowed"
	// DeployReasonSavepointLocationNotAllowed: a savepoint directory or
	// restore path of the request (program.savepoint.path,
	// savepoints.directory, a -D option naming one) is outside the
	// installation's allow-list (FLINKFERRY_*_SAVEPOINT_DIRS).
	DeployReasonSavepointLocationNotAllowed = "savepoint_location_not_allowed"
	// DeployReasonFlinkConfUnrepresentable: the configuration cannot be
	// written to flink-conf.yaml (Flink < 1.19) without changing it
	// ('#' or a line break in a key or value). Validation refuses such
	// requests; this is the submit worker's own check.
	DeployReasonFlinkConfUnrepresentable = "flink_conf_unrepresentable"
)

// DeployFailed reports a deployment that cannot succeed: retrying the same
// request would fail the same way. It goes to the Status topic.
type DeployFailed struct {
	// RequestID is SubmitRequested.RequestID.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is SubmitRequested.Job.
	Job JobRef `json:"job"`
	// Mode is SubmitRequested.Mode.
	Mode Mode `json:"mode"`
	// Reason is a snake_case machine code, one of the DeployReason*
	// constants or a newer one.
	Reason string `json:"reason" jsonschema:"maxLength=64,pattern=^[a-z][a-z0-9_]*$"`
	// Message explains the failure to a person, at most 32 KiB. It never
	// contains credentials.
	Message string `json:"message" jsonschema:"minLength=1"`
	// Labels are SubmitRequested.Labels.
	Labels map[string]string `json:"labels,omitempty"`
	// MovedFrom is the image built event's moved_from: the request was a
	// move's hand-back, the job it replaced (whose record the track worker
	// ends).
	MovedFrom *JobRef `json:"moved_from,omitempty"`
	// Time is when the deployment failed (RFC 3339).
	Time time.Time `json:"time"`
}

// EventType returns TypeDeployFailed.
func (e *DeployFailed) EventType() string { return TypeDeployFailed }

// JobKey returns e.Job.Key().
func (e *DeployFailed) JobKey() string { return e.Job.Key() }

func (e *DeployFailed) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem.
func (e *DeployFailed) Validate() error {
	var v validator
	checkCommon(&v, e.RequestID, e.Job, e.Mode, e.Time, e.Labels)
	checkReasonCode(&v, "reason", e.Reason, true)
	checkMessage(&v, "message", e.Message, true)
	if e.MovedFrom != nil {
		e.MovedFrom.validate(&v, "moved_from")
	}
	return v.result()
}
