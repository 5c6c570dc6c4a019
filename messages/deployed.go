package messages

import "time"

// Deployed reports that the submit worker created a job's Kubernetes
// objects (modes application and session-cluster) or submitted the job to
// its session cluster (mode session). It says nothing about the job
// running: JobStatusChanged does. It goes to the Deployed topic, where the
// track worker consumes it, and to the Status topic.
type Deployed struct {
	// RequestID is SubmitRequested.RequestID.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is SubmitRequested.Job.
	Job JobRef `json:"job"`
	// Mode is SubmitRequested.Mode.
	Mode Mode `json:"mode"`
	// FlinkJobID is the job's Flink id (SubmitRequested.FlinkJobID), 32
	// lowercase hex characters. Required in modes application and session;
	// empty in mode session-cluster.
	FlinkJobID string `json:"flink_job_id,omitempty" jsonschema:"pattern=^[0-9a-f]{32}$"`
	// SessionClusterID is the session cluster running the job. Required in
	// mode session; empty otherwise.
	SessionClusterID string `json:"session_cluster_id,omitempty" jsonschema:"maxLength=45,pattern=^[a-z]([-a-z0-9]*[a-z0-9])?$"`
	// Image is the image deployed, pinned by digest (Flink's
	// kubernetes.container.image.ref). Required in modes application and
	// session-cluster.
	Image string `json:"image,omitempty" jsonschema:"pattern=@sha256:[0-9a-f]{64}$"`
	// RestEndpoint is the base URL of the JobManager's REST API as the
	// workers reach it, e.g. http://wordcount-rest.flink-jobs:8081.
	RestEndpoint string `json:"rest_endpoint,omitempty" jsonschema:"maxLength=2048"`
	// WebUIURL is the Flink web UI as people reach it, when known.
	WebUIURL string `json:"web_ui_url,omitempty" jsonschema:"maxLength=2048"`
	// ObjectUIDs maps "<Kind>/<name>" of each Kubernetes object created
	// (Deployment/wordcount, ConfigMap/flink-config-wordcount, ...) to its
	// metadata.uid.
	ObjectUIDs map[string]string `json:"object_uids,omitempty"`
	// Labels are SubmitRequested.Labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the deployment was done (RFC 3339).
	Time time.Time `json:"time"`
	// Request is the request deployed, unchanged (ImageBuilt.Request), and
	// JarName and JarArtifact are ImageBuilt's: with Image they let the
	// track worker deploy the job again (resume, restart) without asking
	// anyone. Absent in events of older submit workers.
	Request     *SubmitRequested `json:"request,omitempty"`
	JarName     string           `json:"jar_name,omitempty" jsonschema:"maxLength=255,pattern=^[A-Za-z0-9._-]+\\.jar$"`
	JarArtifact string           `json:"jar_artifact,omitempty" jsonschema:"pattern=@sha256:[0-9a-f]{64}$"`
	// JarSHA256 is ImageBuilt.JarSHA256, for the same reason.
	JarSHA256 string `json:"jar_sha256,omitempty" jsonschema:"pattern=^[0-9a-f]{64}$"`
}

// EventType returns TypeDeployed.
func (e *Deployed) EventType() string { return TypeDeployed }

// JobKey returns e.Job.Key().
func (e *Deployed) JobKey() string { return e.Job.Key() }

func (e *Deployed) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem.
func (e *Deployed) Validate() error {
	var v validator
	checkCommon(&v, e.RequestID, e.Job, e.Mode, e.Time, e.Labels)
	checkJobIDForMode(&v, "flink_job_id", e.FlinkJobID, e.Mode)
	switch {
	case e.Mode == ModeSession:
		checkClusterID(&v, "session_cluster_id", e.SessionClusterID, true)
	case e.SessionClusterID != "":
		v.addf("session_cluster_id", "not allowed unless mode is session")
	}
	checkDigestRef(&v, "image", e.Image, e.Mode == ModeApplication || e.Mode == ModeSessionCluster)
	checkHTTPURL(&v, "rest_endpoint", e.RestEndpoint, maxURLLength)
	checkHTTPURL(&v, "web_ui_url", e.WebUIURL, maxURLLength)
	checkObjectUIDs(&v, "object_uids", e.ObjectUIDs)
	if e.Request != nil {
		checkEmbeddedRequest(&v, "request", e.Request, e.RequestID, e.Job, e.Mode)
	}
	if e.JarName != "" && !jarNameRegexp.MatchString(e.JarName) {
		v.addf("jar_name", "must be a file name of letters, digits, '.', '_' or '-' ending in .jar")
	}
	checkDigestRef(&v, "jar_artifact", e.JarArtifact, false)
	checkSHA256(&v, "jar_sha256", e.JarSHA256, false)
	return v.result()
}

// checkJobIDForMode checks a Flink job id that jobs have and session
// clusters do not.
func checkJobIDForMode(v *validator, p, id string, mode Mode) {
	switch {
	case mode == ModeSessionCluster && id != "":
		v.addf(p, "not allowed in mode session-cluster")
	case id == "" && (mode == ModeApplication || mode == ModeSession):
		v.addf(p, "required in mode %s", mode)
	default:
		checkFlinkJobID(v, p, id)
	}
}
