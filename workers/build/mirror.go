package build

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// MirrorRepo is the repository, under the registry namespace, that holds
// copies of base images from other registries.
const MirrorRepo = "flinkferry-base"

// localBase returns the base image as it lives in the target registry.
// A base from another registry (Docker Hub's flink images, say) is copied
// once into <namespace>/flinkferry-base/<repo>:sha256-<digest>; every build
// after that mounts its layers from there, so base layers cross the
// network once per registry, not once per job repository.
func (b *Builder) localBase(ctx context.Context, ref name.Reference, desc *remote.Descriptor) (name.Reference, *remote.Descriptor, error) {
	if !b.MirrorBase || ref.Context().RegistryStr() == b.Registry.Host {
		return ref, desc, nil
	}
	repo, err := b.Registry.Repository(MirrorRepo + "/" + strings.ToLower(ref.Context().RepositoryStr()))
	if err != nil {
		return nil, nil, err
	}
	mirror := repo.Tag("sha256-" + desc.Digest.Hex)
	opts := b.Registry.options(ctx, mirror)
	if got, err := remote.Get(mirror, opts...); err == nil && got.Digest == desc.Digest {
		return mirror, got, nil
	}
	logging.FromContext(ctx).Info("copying base image into the registry once", "base", ref.String(), "mirror", mirror.String())
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, nil, classify(err, "reading base index", messages.BuildReasonBadBaseImage)
		}
		err = remote.WriteIndex(mirror, idx, opts...)
		if err != nil {
			return nil, nil, classify(err, "copying base to "+mirror.String(), messages.BuildReasonRegistryRefused)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, nil, classify(err, "reading base image", messages.BuildReasonBadBaseImage)
		}
		if err := remote.Write(mirror, img, opts...); err != nil {
			return nil, nil, classify(err, "copying base to "+mirror.String(), messages.BuildReasonRegistryRefused)
		}
	}
	got, err := remote.Get(mirror, opts...)
	if err != nil {
		return nil, nil, classify(err, "reading "+mirror.String(), messages.BuildReasonRegistryRefused)
	}
	return mirror, got, nil
}
