package build

import (
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// Annotation and label keys written on every image.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	LabelJob             = "io.flinkferry.job"
	LabelRequest         = "io.flinkferry.request-id"
	LabelJarSHA256       = "io.flinkferry.jar.sha256"
	LabelJarPath         = "io.flinkferry.jar.path"
)

// imageSpec is everything that determines the built image besides the base.
type imageSpec struct {
	BaseName   string // the base reference as given (tag or digest)
	BaseDigest string // sha256:... of the base manifest or index
	Job        string // job key
	JarPath    string // absolute path of the jar in the image
	JarSHA256  string
	Layer      v1.Layer      // already uploaded: its digests are computed
	Platforms  []v1.Platform // nil: every platform of an index
}

// appendJar returns base plus the jar layer, labelled and annotated. It is
// pure: nothing is read from or written to a registry until the result is
// pushed, and base layers stay remote (they are mounted, never uploaded).
func appendJar(base v1.Image, s imageSpec) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading base media type: %w", err)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: s.Layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "flinkferry: COPY " + s.JarPath,
			Comment:   "job jar sha256:" + s.JarSHA256,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("appending jar layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base config: %w", err)
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		AnnotationBaseName: s.BaseName, AnnotationBaseDigest: s.BaseDigest,
		LabelJob: s.Job, LabelJarSHA256: s.JarSHA256, LabelJarPath: s.JarPath,
	} {
		cf.Config.Labels[k] = v
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("writing config: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		img = mutate.Annotations(img, map[string]string{
			AnnotationBaseName: s.BaseName, AnnotationBaseDigest: s.BaseDigest,
		}).(v1.Image)
	}
	return img, nil
}

// appendJarIndex appends the jar to every platform image of base (or to
// the requested platforms) and returns an index of the results, in the
// base's order and media type. Entries without a real platform (build
// attestations) are dropped: they describe the base, not the new image.
func appendJarIndex(base v1.ImageIndex, s imageSpec) (v1.ImageIndex, error) {
	im, err := base.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading base index: %w", err)
	}
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	out := mutate.IndexMediaType(empty.Index, mt)
	n := 0
	for _, desc := range im.Manifests {
		if desc.Platform == nil || desc.Platform.OS == "unknown" || !desc.MediaType.IsImage() {
			continue
		}
		if !wanted(*desc.Platform, s.Platforms) {
			continue
		}
		baseImg, err := base.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading base image for %s: %w", desc.Platform, err)
		}
		img, err := appendJar(baseImg, s)
		if err != nil {
			return nil, fmt.Errorf("platform %s: %w", desc.Platform, err)
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: desc.Platform, Annotations: desc.Annotations},
		})
		n++
	}
	if n == 0 {
		return nil, errors.New("the base index has none of the requested platforms")
	}
	if mt == types.OCIImageIndex {
		out = mutate.Annotations(out, map[string]string{
			AnnotationBaseName: s.BaseName, AnnotationBaseDigest: s.BaseDigest,
		}).(v1.ImageIndex)
	}
	return out, nil
}

func wanted(p v1.Platform, want []v1.Platform) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if p.Satisfies(w) {
			return true
		}
	}
	return false
}

// built is an image or an index ready to push.
type built interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// appendJarTo appends the jar to the base image, or to every wanted
// platform of a base index, and returns the result and the size of one of
// its images.
func appendJarTo(base *remote.Descriptor, s imageSpec) (built, int64, error) {
	if base.MediaType.IsIndex() {
		baseIdx, err := base.ImageIndex()
		if err != nil {
			return nil, 0, classify(err, "reading base index", messages.BuildReasonBadBaseImage)
		}
		idx, err := appendJarIndex(baseIdx, s)
		if err != nil {
			return nil, 0, failure.Permanent(messages.BuildReasonBadBaseImage, err)
		}
		return idx, firstImageSize(idx), nil
	}
	baseImg, err := base.Image()
	if err != nil {
		return nil, 0, classify(err, "reading base image", messages.BuildReasonBadBaseImage)
	}
	img, err := appendJar(baseImg, s)
	if err != nil {
		return nil, 0, failure.Permanent(messages.BuildReasonBadBaseImage, err)
	}
	return img, imageSize(img), nil
}
