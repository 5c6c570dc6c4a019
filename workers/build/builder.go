package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// Request is what one build needs, taken from a submit request.
type Request struct {
	// Repo is the repository under the registry namespace (the cluster id).
	Repo string
	// Job is the job key (labels the image).
	Job string
	// Base is the base image reference.
	Base string
	// JarURL and JarSHA256 locate and pin the jar; JarSHA1 pins a Maven jar.
	JarURL, JarSHA256, JarSHA1 string
	// JarOnly pushes only the jar, as an OCI artifact (session jobs: the
	// submit worker uploads it to the session cluster over REST).
	JarOnly bool
	// BaseOnly skips the jar: the result is the base pinned by digest
	// (session clusters, whose jobs arrive over REST).
	BaseOnly bool
}

// Result describes a pushed image.
type Result struct {
	Image         string // repo@sha256:... of the image or index
	JarArtifact   string // repo@sha256:... of the jar artifact (JarOnly)
	BaseImage     string
	BaseDigest    string
	JarPath       string // absolute path of the jar in the image
	JarName       string // the jar's file name
	JarSHA256     string
	SizeBytes     int64 // compressed size of the image (first platform: manifest, config, layers)
	UploadedBytes int64 // bytes this build sent to the registry
	CacheHit      bool  // the image already existed: nothing was uploaded
	Duration      time.Duration
}

// Builder fetches jars and builds and pushes Flink images.
type Builder struct {
	Fetcher   *Fetcher
	Registry  *Registry
	Encoding  Encoding
	Platforms []v1.Platform
	// MirrorBase copies bases from other registries into the target
	// registry once, so later builds mount their layers.
	MirrorBase bool
	Metrics    *Metrics
}

// formatVersion changes when the image layout changes, so old tags are not reused.
const formatVersion = "flinkferry-image-v1"

// Build runs one build. It is idempotent: the tag is derived from every
// input, and an existing tag is reused without uploading anything.
func (b *Builder) Build(ctx context.Context, req Request) (res *Result, err error) {
	start := time.Now()
	log := logging.FromContext(ctx)
	defer func() { b.Metrics.observe(res, err, time.Since(start)) }()

	if req.JarOnly {
		return b.stageJar(ctx, req, start)
	}
	baseRef, err := b.Registry.ParseBase(req.Base)
	if err != nil {
		return nil, err
	}
	baseDesc, err := remote.Get(baseRef, b.Registry.options(ctx, baseRef)...)
	if err != nil {
		return nil, classify(err, "resolving base image "+req.Base, messages.BuildReasonBadBaseImage)
	}
	baseDigest := baseDesc.Digest.String()
	if baseRef, baseDesc, err = b.localBase(ctx, baseRef, baseDesc); err != nil {
		return nil, err
	}
	if req.BaseOnly {
		return &Result{
			Image:     baseRef.Context().Digest(baseDigest).String(),
			BaseImage: req.Base, BaseDigest: baseDigest, SizeBytes: baseDesc.Size,
			CacheHit: true, Duration: time.Since(start),
		}, nil
	}

	repo, err := b.Registry.Repository(req.Repo)
	if err != nil {
		return nil, failure.Permanentf(messages.BuildReasonRegistryRefused, "repository for %q: %v", req.Repo, err)
	}
	// With a pinned jar the tag is known before downloading anything.
	if req.JarSHA256 != "" {
		if res, err := b.existing(ctx, repo, req, baseDigest, req.JarSHA256, jarName(req.JarURL)); res != nil || err != nil {
			return res, err
		}
	}

	art, err := b.Fetcher.Fetch(ctx, req.JarURL, req.JarSHA256, req.JarSHA1)
	if err != nil {
		return nil, err
	}
	defer art.Remove()
	log.Info("jar fetched", "bytes", art.Size, "sha256", art.SHA256)

	if req.JarSHA256 == "" {
		if res, err := b.existing(ctx, repo, req, baseDigest, art.SHA256, art.Name); res != nil || err != nil {
			return res, err
		}
	}
	return b.buildAndPush(ctx, repo, req, baseRef, baseDesc, art, start)
}

// tag derives the image tag from every input that shapes the image.
func (b *Builder) tag(baseDigest, jarSHA256, jarName, job string) string {
	in, _ := json.Marshal(struct {
		Format, Base, Jar, Name, Job, Encoding string
		Platforms                              []v1.Platform
	}{formatVersion, baseDigest, jarSHA256, jarName, job, string(b.Encoding), b.Platforms})
	sum := sha256.Sum256(in)
	return "ff-" + hex.EncodeToString(sum[:])[:32]
}

// existing returns the result for an image already pushed with the same
// inputs, or nil when there is none.
func (b *Builder) existing(ctx context.Context, repo name.Repository, req Request, baseDigest, jarSHA, jarName string) (*Result, error) {
	ref := repo.Tag(b.tag(baseDigest, jarSHA, jarName, req.Job))
	desc, err := remote.Head(ref, b.Registry.options(ctx, ref)...)
	if err != nil {
		if e := classify(err, "checking "+ref.String(), "missing"); failure.Reason(e) == "missing" {
			return nil, nil
		} else if failure.IsPermanent(e) {
			return nil, e
		}
		return nil, nil // unknown: build, pushing is idempotent anyway
	}
	logging.FromContext(ctx).Info("image already built with the same inputs; nothing to upload", "image", ref.String())
	b.Metrics.cacheHits.Inc()
	return &Result{
		Image: repo.Digest(desc.Digest.String()).String(), BaseImage: req.Base, BaseDigest: baseDigest,
		JarPath: UsrlibDir + "/" + jarName, JarName: jarName, JarSHA256: jarSHA, SizeBytes: desc.Size, CacheHit: true,
	}, nil
}

func (b *Builder) buildAndPush(ctx context.Context, repo name.Repository, req Request, baseRef name.Reference, baseDesc *remote.Descriptor, art *Artifact, start time.Time) (*Result, error) {
	spec := imageSpec{
		BaseName: req.Base, BaseDigest: baseDesc.Digest.String(), Job: req.Job,
		JarPath: UsrlibDir + "/" + art.Name, JarSHA256: art.SHA256, Platforms: b.Platforms,
	}
	layer, err := newJarLayer(art.Path, art.Name, art.Size, b.Encoding, layerMediaType(baseDesc.MediaType))
	if err != nil {
		return nil, err
	}
	ref := repo.Tag(b.tag(spec.BaseDigest, art.SHA256, art.Name, req.Job))
	counter := newCountingTransport(b.Registry.Transport)
	reg := *b.Registry
	reg.Transport = counter
	opts := reg.options(ctx, ref)

	// The jar layer goes up first, in one streaming pass that computes its
	// digests; every platform image then references the uploaded blob.
	if err := remote.WriteLayer(repo, layer, opts...); err != nil {
		return nil, classify(err, "uploading the jar layer to "+repo.String(), messages.BuildReasonRegistryRefused)
	}
	spec.Layer = layer

	out, size, err := appendJarTo(baseDesc, spec)
	if err != nil {
		return nil, err
	}
	if err := remote.Push(ref, out, opts...); err != nil {
		return nil, classify(err, "pushing "+ref.String(), messages.BuildReasonRegistryRefused)
	}
	digest, err := out.Digest()
	if err != nil {
		return nil, err
	}
	uploaded := counter.uploaded.Load()
	b.Metrics.uploadedBytes.Add(float64(uploaded))
	b.Metrics.mountedBytes.Add(float64(max(size-uploaded, 0)))
	res := &Result{
		Image: repo.Digest(digest.String()).String(), BaseImage: req.Base, BaseDigest: spec.BaseDigest,
		JarPath: spec.JarPath, JarName: art.Name, JarSHA256: art.SHA256, SizeBytes: size, UploadedBytes: uploaded,
		Duration: time.Since(start),
	}
	logging.FromContext(ctx).Info("image pushed", "image", res.Image, "uploaded_bytes", uploaded, "duration", res.Duration)
	return res, nil
}

// imageSize sums manifest, config and layer sizes.
func imageSize(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	raw, _ := img.RawManifest()
	total := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total
}

func firstImageSize(idx v1.ImageIndex) int64 {
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) == 0 {
		return 0
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return 0
	}
	return imageSize(img)
}
