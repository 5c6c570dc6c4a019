package messages

import "time"

// Machine codes of BuildFailed.Reason. The list is open: consumers must
// accept codes they do not know.
const (
	// BuildReasonArtifactNotFound: the jar URL or Maven coordinate does not exist.
	BuildReasonArtifactNotFound = "artifact_not_found"
	// BuildReasonChecksumMismatch: the jar's sha256 differs from program.jar.sha256.
	BuildReasonChecksumMismatch = "checksum_mismatch"
	// BuildReasonNotAJar: the artifact is not a jar (zip) file.
	BuildReasonNotAJar = "not_a_jar"
	// BuildReasonBadBaseImage: the base image does not exist or is not a Flink image.
	BuildReasonBadBaseImage = "bad_base_image"
	// BuildReasonRegistryAuthRefused: the registry refused the build worker's credentials.
	BuildReasonRegistryAuthRefused = "registry_auth_refused"
	// BuildReasonArtifactHostNotAllowed: the jar URL's host is not on the allow list.
	BuildReasonArtifactHostNotAllowed = "artifact_host_not_allowed"
	// BuildReasonArtifactTooLarge: the jar exceeds the build worker's size limit.
	BuildReasonArtifactTooLarge = "artifact_too_large"
	// BuildReasonArtifactForbidden: the artifact server refused access (HTTP 401/403).
	BuildReasonArtifactForbidden = "artifact_forbidden"
	// BuildReasonArtifactRefused: the artifact URL or the server's answer is unusable
	// (not http(s), another 4xx, too many redirects).
	BuildReasonArtifactRefused = "artifact_fetch_refused"
	// BuildReasonBadMavenCoordinate: program.jar.maven is not group:artifact:version[:classifier].
	BuildReasonBadMavenCoordinate = "bad_maven_coordinate"
	// BuildReasonRegistryRefused: the registry refused a push for another reason than credentials.
	BuildReasonRegistryRefused = "registry_refused"
)

// BuildFailed reports a build that cannot succeed: retrying the same
// request would fail the same way. It goes to the Status topic.
type BuildFailed struct {
	// RequestID is SubmitRequested.RequestID.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is SubmitRequested.Job.
	Job JobRef `json:"job"`
	// Mode is SubmitRequested.Mode.
	Mode Mode `json:"mode"`
	// Reason is a snake_case machine code, one of the BuildReason*
	// constants or a newer one.
	Reason string `json:"reason" jsonschema:"maxLength=64,pattern=^[a-z][a-z0-9_]*$"`
	// Message explains the failure to a person, at most 32 KiB. It never
	// contains credentials.
	Message string `json:"message" jsonschema:"minLength=1"`
	// Labels are SubmitRequested.Labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the build failed (RFC 3339).
	Time time.Time `json:"time"`
}

// EventType returns TypeBuildFailed.
func (e *BuildFailed) EventType() string { return TypeBuildFailed }

// JobKey returns e.Job.Key().
func (e *BuildFailed) JobKey() string { return e.Job.Key() }

func (e *BuildFailed) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem.
func (e *BuildFailed) Validate() error {
	var v validator
	checkCommon(&v, e.RequestID, e.Job, e.Mode, e.Time, e.Labels)
	checkReasonCode(&v, "reason", e.Reason, true)
	checkMessage(&v, "message", e.Message, true)
	return v.result()
}
