package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image runs and as whom: distroless's nonroot user, the binary
// at the root, its home as the working directory.
const (
	Entrypoint = "/flinkferry"
	User       = "65532:65532"
	WorkingDir = "/home/nonroot"
	OpsPort    = "9090/tcp"
)

// OCI annotation and label keys.
const (
	keyCreated     = "org.opencontainers.image.created"
	keySource      = "org.opencontainers.image.source"
	keyRevision    = "org.opencontainers.image.revision"
	keyVersion     = "org.opencontainers.image.version"
	keyLicenses    = "org.opencontainers.image.licenses"
	keyTitle       = "org.opencontainers.image.title"
	keyDescription = "org.opencontainers.image.description"
	keyBaseName    = "org.opencontainers.image.base.name"
	keyBaseDigest  = "org.opencontainers.image.base.digest"
)

// Meta is what the labels say about a build.
type Meta struct {
	Version, Revision, Source, Licenses string
	Created                             time.Time
	BaseName, BaseDigest                string
}

// Labels returns the OCI labels (and annotations) of every image.
func (m Meta) Labels() map[string]string {
	return map[string]string{
		keyCreated:     m.Created.UTC().Format(time.RFC3339),
		keySource:      m.Source,
		keyRevision:    m.Revision,
		keyVersion:     m.Version,
		keyLicenses:    m.Licenses,
		keyTitle:       "flinkferry",
		keyDescription: "flinkferry runs Apache Flink jobs on Kubernetes: build, submit and track workers chained by Kafka topics",
		keyBaseName:    m.BaseName,
		keyBaseDigest:  m.BaseDigest,
	}
}

// Base is the base image of each platform, by platform string.
type Base map[string]v1.Image

// Assemble returns the index of base + binary for each binary, in the
// order given, and each platform's image. It is pure: nothing is read
// from or written to a registry until the result is pushed (base layers
// stay where they are).
func Assemble(base Base, bins []Binary, m Meta) (v1.ImageIndex, []v1.Image, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var imgs []v1.Image
	for _, b := range bins {
		bi, ok := base[b.Platform.String()]
		if !ok {
			return nil, nil, fmt.Errorf("the base has no image for %s", b.Platform.String())
		}
		img, err := appendBinary(bi, b, m)
		if err != nil {
			return nil, nil, fmt.Errorf("platform %s: %w", b.Platform.String(), err)
		}
		p := b.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		imgs = append(imgs, img)
	}
	idx = mutate.Annotations(idx, m.Labels()).(v1.ImageIndex)
	return idx, imgs, nil
}

// appendBinary is base plus one layer holding the binary, configured to
// run it as nonroot, labelled.
func appendBinary(base v1.Image, b Binary, m Meta) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading base media type: %w", err)
	}
	layer, err := binaryLayer(b.Path, m.Created, layerMediaType(mt))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: m.Created},
			CreatedBy: "hack/image: COPY flinkferry " + Entrypoint,
			Comment:   "go build -trimpath, CGO_ENABLED=0, " + b.Platform.String(),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("appending binary layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: m.Created}
	cf.Author = "flinkferry"
	cf.OS, cf.Architecture, cf.Variant = b.Platform.OS, b.Platform.Architecture, b.Platform.Variant
	cf.Config.User = User
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = WorkingDir
	if cf.Config.ExposedPorts == nil {
		cf.Config.ExposedPorts = map[string]struct{}{}
	}
	cf.Config.ExposedPorts[OpsPort] = struct{}{}
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range m.Labels() {
		cf.Config.Labels[k] = v
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("writing config: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		img = mutate.Annotations(img, map[string]string{
			keyBaseName: m.BaseName, keyBaseDigest: m.BaseDigest, keyCreated: m.Labels()[keyCreated],
		}).(v1.Image)
	}
	return img, nil
}

// layerMediaType matches the layer to the base's manifest (OCI or Docker).
func layerMediaType(manifest types.MediaType) types.MediaType {
	if manifest == types.OCIManifestSchema1 {
		return types.OCILayer
	}
	return types.DockerLayer
}

// binaryLayer is a gzip layer holding one file, /flinkferry: owned by
// root, mode 0555 (nonroot may run it, not change it), mtime created.
// The tar and gzip streams depend on the binary and created only.
func binaryLayer(path string, created time.Time, mt types.MediaType) (v1.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening binary: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: Entrypoint[1:], Size: st.Size(), Mode: 0o555,
		Uid: 0, Gid: 0, Uname: "root", Gname: "root", ModTime: created.UTC(),
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("writing tar header: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return nil, fmt.Errorf("writing binary to layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(mt))
}
