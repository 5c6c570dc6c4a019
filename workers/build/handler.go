package build

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// Handler turns submit requests into image built or build failed events.
type Handler struct {
	Builder *Builder
	// Admitter refuses requests that may not run, before anything is
	// fetched, built or pushed. Required.
	Admitter         *admission.Admitter
	Topics           messages.Topics
	DefaultBaseImage string
	MavenRepository  string
	// Requests, when set, remembers the content hash each request id was
	// built with: the same request id with other content is refused
	// (request_id_conflict) before anything is fetched, built or pushed.
	Requests RequestHashes
	// Refusals, when set, publishes the build failed event of a request
	// refused as a conflict, which is then dead-lettered with the reason;
	// nil: the build failed event is the handler's output, as for the
	// other refusals.
	Refusals Publisher
}

// Publisher sends an event with a chosen CloudEvents id (bus.Producer).
type Publisher interface {
	SendWithID(ctx context.Context, ev messages.Event, id string, topics ...string) error
}

// Handle builds the image of one submit request, once admitted (package
// admission). Refusals and permanent build failures (missing jar, bad
// checksum, refused credentials...) become a build failed
// event on the status topic and the request is done; transient ones are
// returned so the bus retries them.
//
// A request id built before with other content (Requests) is refused
// request_id_conflict, naming both hashes, before the jar is fetched; with
// Refusals set its build failed event is published and the request
// dead-lettered with that reason.
func (h *Handler) Handle(ctx context.Context, req *messages.SubmitRequested) ([]bus.Out, error) {
	err := h.Admitter.Admit(req)
	var hash string
	if err == nil {
		hash, err = checkRequestID(ctx, h.Requests, req)
	}
	var breq Request
	if err == nil {
		breq, err = h.request(ctx, req)
	}
	if err == nil {
		var res *Result
		res, err = h.Builder.Build(ctx, breq)
		if err == nil {
			err = remember(ctx, h.Requests, req, hash)
		}
		if err == nil {
			return []bus.Out{{Event: imageBuilt(req, res), Topics: []string{h.Topics.ImageBuilt, h.Topics.Status}}}, nil
		}
	}
	if !failure.IsPermanent(err) {
		return nil, err
	}
	err = nameJarField(req, err)
	failed := &messages.BuildFailed{
		RequestID: req.RequestID, Job: req.Job, Mode: req.Mode, Labels: req.Labels,
		Reason: failure.Reason(err), Message: err.Error(), Time: time.Now().UTC(),
	}
	if failed.Reason == ReasonRequestIDConflict && h.Refusals != nil {
		if perr := h.Refusals.SendWithID(ctx, failed, req.JobKey()+".build-refused."+req.RequestID+"."+hash, h.Topics.Status); perr != nil {
			return nil, fmt.Errorf("publishing the refusal of request %s: %w", req.RequestID, perr)
		}
		return nil, err
	}
	return []bus.Out{{Event: failed, Topics: []string{h.Topics.Status}}}, nil
}

// request maps a submit request to a build request.
func (h *Handler) request(ctx context.Context, req *messages.SubmitRequested) (Request, error) {
	base := req.Flink.BaseImage
	if base == "" {
		base = strings.ReplaceAll(h.DefaultBaseImage, "{version}", req.Flink.Version)
	}
	r := Request{Repo: req.Job.ClusterID, Job: req.JobKey(), Base: base}
	switch req.Mode {
	case messages.ModeSessionCluster:
		r.BaseOnly = true
		return r, nil
	case messages.ModeSession:
		r.JarOnly = true
	}
	if req.Program == nil {
		return r, failure.Permanentf(failure.ReasonPermanent, "the request has no program")
	}
	jar := req.Program.Jar
	r.JarURL, r.JarSHA256 = jar.URL, jar.SHA256
	if jar.Maven != "" {
		u, sha1, err := h.resolveMaven(ctx, jar.Maven)
		if err != nil {
			return r, err
		}
		r.JarURL, r.JarSHA1 = u, sha1
	}
	return r, nil
}

func imageBuilt(req *messages.SubmitRequested, res *Result) *messages.ImageBuilt {
	return &messages.ImageBuilt{
		RequestID:   req.RequestID,
		Job:         req.Job,
		Mode:        req.Mode,
		Image:       res.Image,
		BaseImage:   res.BaseImage,
		BaseDigest:  baseDigestRef(res),
		SizeBytes:   res.SizeBytes,
		JarSHA256:   res.JarSHA256,
		JarName:     res.JarName,
		JarArtifact: res.JarArtifact,
		DurationMS:  res.Duration.Milliseconds(),
		CacheHit:    res.CacheHit,
		Labels:      req.Labels,
		Time:        time.Now().UTC(),
		Request:     *req,
	}
}

// baseDigestRef pins the base image reference to the digest that was built on.
func baseDigestRef(res *Result) string {
	if res.BaseDigest == "" {
		return ""
	}
	ref, err := name.ParseReference(res.BaseImage, name.WeakValidation)
	if err != nil {
		return ""
	}
	return ref.Context().Digest(res.BaseDigest).String()
}

// jarReasons are the refusals about the request's jar.
var jarReasons = []string{
	messages.BuildReasonArtifactNotFound, messages.BuildReasonChecksumMismatch, messages.BuildReasonNotAJar,
	messages.BuildReasonArtifactHostNotAllowed, messages.BuildReasonArtifactTooLarge, messages.BuildReasonArtifactForbidden,
	messages.BuildReasonArtifactRefused, messages.BuildReasonBadMavenCoordinate,
}

// nameJarField prefixes a refusal about the jar with the request's field
// that located it (program.jar.url or program.jar.maven), as validation
// and admission name theirs.
func nameJarField(req *messages.SubmitRequested, err error) error {
	if req.Program == nil || !slices.Contains(jarReasons, failure.Reason(err)) {
		return err
	}
	field := "program.jar.url"
	if req.Program.Jar.Maven != "" {
		field = "program.jar.maven"
	}
	return fmt.Errorf("%s: %w", field, err)
}
