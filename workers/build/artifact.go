package build

import (
	"context"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/oci"
	"github.com/flinkferry/flinkferry/messages"
)

// stageJar pushes the jar alone as an OCI artifact (one layer, the jar's
// bytes as they are), so the registry is the one artifact store and the
// submit worker can fetch the jar by digest.
func (b *Builder) stageJar(ctx context.Context, req Request, start time.Time) (*Result, error) {
	repo, err := b.Registry.Repository(req.Repo)
	if err != nil {
		return nil, failure.Permanentf(messages.BuildReasonRegistryRefused, "repository for %q: %v", req.Repo, err)
	}
	art, err := b.Fetcher.Fetch(ctx, req.JarURL, req.JarSHA256, req.JarSHA1)
	if err != nil {
		return nil, err
	}
	defer art.Remove()
	layer := &fileLayer{path: art.Path, size: art.Size, digest: v1.Hash{Algorithm: "sha256", Hex: art.SHA256}}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: layer, MediaType: oci.JarLayerMediaType,
		Annotations: map[string]string{oci.AnnotationJarName: art.Name},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, oci.JarArtifactType)
	img = mutate.Annotations(img, map[string]string{LabelJob: req.Job, LabelJarSHA256: art.SHA256}).(v1.Image)
	ref := repo.Tag("ff-jar-" + art.SHA256[:32])

	counter := newCountingTransport(b.Registry.Transport)
	reg := *b.Registry
	reg.Transport = counter
	if err := remote.Write(ref, img, reg.options(ctx, ref)...); err != nil {
		return nil, classify(err, "pushing "+ref.String(), messages.BuildReasonRegistryRefused)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	res := &Result{
		JarArtifact: repo.Digest(digest.String()).String(), JarPath: art.Name, JarName: art.Name, JarSHA256: art.SHA256,
		SizeBytes: art.Size, UploadedBytes: counter.uploaded.Load(), CacheHit: counter.uploaded.Load() == 0,
		Duration: time.Since(start),
	}
	b.Metrics.uploadedBytes.Add(float64(res.UploadedBytes))
	logging.FromContext(ctx).Info("jar staged", "artifact", res.JarArtifact, "uploaded_bytes", res.UploadedBytes)
	return res, nil
}

// fileLayer is a layer whose bytes are a local file, stored as they are.
type fileLayer struct {
	path   string
	size   int64
	digest v1.Hash
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return oci.JarLayerMediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
