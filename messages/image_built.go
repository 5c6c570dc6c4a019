package messages

import (
	"reflect"
	"regexp"
	"time"
)

// ImageBuilt reports that the build worker built and pushed what a job
// needs: the job image (modes application and session-cluster) or the jar
// as an OCI artifact (mode session). It goes to the ImageBuilt topic, where
// the submit worker consumes it, and to the Status topic. It carries the
// whole request, so downstream workers stay stateless.
type ImageBuilt struct {
	// RequestID is SubmitRequested.RequestID.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is SubmitRequested.Job.
	Job JobRef `json:"job"`
	// Mode is SubmitRequested.Mode.
	Mode Mode `json:"mode"`
	// Image is the built job image pinned by digest,
	// "<repository>@sha256:<64 hex>"; Flink's
	// kubernetes.container.image.ref. Required in modes application and
	// session-cluster.
	Image string `json:"image,omitempty" jsonschema:"pattern=@sha256:[0-9a-f]{64}$"`
	// JarArtifact is the job's jar pushed as an OCI artifact, pinned by
	// digest, "<repository>@sha256:<64 hex>". Required in mode session,
	// where the submit worker uploads it to the session cluster
	// (POST /jars/upload).
	JarArtifact string `json:"jar_artifact,omitempty" jsonschema:"pattern=@sha256:[0-9a-f]{64}$"`
	// BaseImage is the base image as requested or defaulted (StreamPark
	// "Flink Base Docker Image"), e.g. flink:1.20-java17.
	BaseImage string `json:"base_image,omitempty"`
	// BaseDigest is BaseImage resolved to a digest,
	// "<repository>@sha256:<64 hex>", as recorded in the image's
	// org.opencontainers.image.base.digest annotation.
	BaseDigest string `json:"base_digest,omitempty" jsonschema:"pattern=@sha256:[0-9a-f]{64}$"`
	// SizeBytes is the size of what was pushed: the image's config and
	// layers, or the jar artifact.
	SizeBytes int64 `json:"size_bytes,omitempty" jsonschema:"minimum=0"`
	// JarSHA256 is the sha256 of the job's jar, 64 lowercase hex characters.
	// Required in modes application and session; empty in mode
	// session-cluster, which has no jar.
	JarSHA256 string `json:"jar_sha256,omitempty" jsonschema:"pattern=^[0-9a-f]{64}$"`
	// JarName is the jar's file name: in mode application the image holds
	// it at /opt/flink/usrlib/<jar_name> (Flink's pipeline.jars), in mode
	// session it is the name to upload it under. Empty in mode
	// session-cluster.
	JarName string `json:"jar_name,omitempty" jsonschema:"maxLength=255,pattern=^[A-Za-z0-9._-]+\\.jar$"`
	// DurationMS is how long the build took, in milliseconds.
	DurationMS int64 `json:"duration_ms,omitempty" jsonschema:"minimum=0"`
	// CacheHit is true when an identical image already existed and nothing
	// was built.
	CacheHit bool `json:"cache_hit,omitempty"`
	// Labels are SubmitRequested.Labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the build finished (RFC 3339).
	Time time.Time `json:"time"`
	// Request is the request that was built, unchanged.
	Request SubmitRequested `json:"request"`
	// UpgradeOf is the request id of the run this one replaces, set by the
	// track worker when it hands an upgrade back to the submit worker once
	// the old cluster is gone (docs/upgrades.md); empty otherwise.
	UpgradeOf string `json:"upgrade_of,omitempty" jsonschema:"maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// MovedFrom is the job a move's hand-back replaces (upgrade.from),
	// set by the track worker with UpgradeOf: the submit worker applies the
	// event only once that job's JobManager Deployment is gone.
	MovedFrom *JobRef `json:"moved_from,omitempty"`
}

// EventType returns TypeImageBuilt.
func (e *ImageBuilt) EventType() string { return TypeImageBuilt }

// JobKey returns e.Job.Key().
func (e *ImageBuilt) JobKey() string { return e.Job.Key() }

func (e *ImageBuilt) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem: the common
// fields, the digests, and the embedded request, which must be valid and
// agree with request_id, job and mode.
func (e *ImageBuilt) Validate() error {
	var v validator
	checkCommon(&v, e.RequestID, e.Job, e.Mode, e.Time, e.Labels)
	checkDigestRef(&v, "image", e.Image, e.Mode == ModeApplication || e.Mode == ModeSessionCluster)
	checkDigestRef(&v, "jar_artifact", e.JarArtifact, e.Mode == ModeSession)
	checkImageRef(&v, "base_image", e.BaseImage)
	checkDigestRef(&v, "base_digest", e.BaseDigest, false)
	if e.SizeBytes < 0 {
		v.addf("size_bytes", "must not be negative")
	}
	checkSHA256(&v, "jar_sha256", e.JarSHA256, e.Mode == ModeApplication || e.Mode == ModeSession)
	if e.UpgradeOf != "" {
		checkRequestID(&v, "upgrade_of", e.UpgradeOf)
	}
	if e.MovedFrom != nil {
		e.MovedFrom.validate(&v, "moved_from")
		if e.UpgradeOf == "" {
			v.addf("moved_from", "only with upgrade_of")
		}
	}
	if e.JarName != "" && !jarNameRegexp.MatchString(e.JarName) {
		v.addf("jar_name", "must be a file name of letters, digits, '.', '_' or '-' ending in .jar")
	}
	if e.DurationMS < 0 {
		v.addf("duration_ms", "must not be negative")
	}
	checkEmbeddedRequest(&v, "request", &e.Request, e.RequestID, e.Job, e.Mode)
	return v.result()
}

// checkEmbeddedRequest checks a SubmitRequested carried inside an event.
func checkEmbeddedRequest(v *validator, p string, r *SubmitRequested, requestID string, job JobRef, mode Mode) {
	if reflect.ValueOf(*r).IsZero() {
		v.addf(p, "required")
		return
	}
	r.validate(v, p)
	if r.RequestID != requestID {
		v.addf(at(p, "request_id"), "must equal request_id %q", requestID)
	}
	if r.Job != job {
		v.addf(at(p, "job"), "must equal job %q", job.Key())
	}
	if r.Mode != mode {
		v.addf(at(p, "mode"), "must equal mode %q", mode)
	}
}

var jarNameRegexp = regexp.MustCompile(`^[A-Za-z0-9._-]{1,251}\.jar$`)
