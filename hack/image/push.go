package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// keychain answers with the given credentials for the push registry and
// with the Docker config file for every other (the base's registry).
type keychain struct {
	registry string
	auth     authn.Authenticator
}

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.auth != nil && r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return authn.DefaultKeychain.Resolve(r)
}

func (c *Config) remoteOptions(ctx context.Context) ([]remote.Option, error) {
	repo, err := name.NewRepository(c.Repository, c.nameOpts()...)
	if err != nil {
		return nil, err
	}
	kc := keychain{registry: repo.RegistryStr()}
	if c.Username != "" {
		kc.auth = &authn.Basic{Username: c.Username, Password: c.Password}
	}
	return []remote.Option{
		remote.WithContext(ctx), remote.WithAuthFromKeychain(kc),
		remote.WithUserAgent("flinkferry-hack-image"), remote.WithTransport(http.DefaultTransport),
	}, nil
}

// fetchBase returns the base image of every wanted platform and the
// digest of what the reference names (index or image).
func fetchBase(ref name.Reference, platforms []v1.Platform, opts []remote.Option) (Base, v1.Hash, error) {
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading base %s: %w", ref, err)
	}
	out := Base{}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, v1.Hash{}, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, v1.Hash{}, err
		}
		for _, p := range platforms {
			if cf.Platform() != nil && cf.Platform().Satisfies(p) {
				out[p.String()] = img
			}
		}
		return out, desc.Digest, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	for _, p := range platforms {
		for _, d := range im.Manifests {
			if d.Platform == nil || !d.MediaType.IsImage() || !d.Platform.Satisfies(p) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, v1.Hash{}, fmt.Errorf("reading base image for %s: %w", p.String(), err)
			}
			out[p.String()] = img
			break
		}
	}
	return out, desc.Digest, nil
}

// emptyConfig is the OCI empty descriptor's blob, the config of artifacts.
var emptyConfig = []byte("{}")

// rawManifest is a manifest pushed as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// sbomManifest is the OCI 1.1 artifact manifest carrying sbom, whose
// subject is the image it describes.
func sbomManifest(sbom []byte, subject v1.Descriptor, created string) (rawManifest, error) {
	blob := func(mt types.MediaType, b []byte) v1.Descriptor {
		h, n, _ := v1.SHA256(bytes.NewReader(b))
		return v1.Descriptor{MediaType: mt, Digest: h, Size: n}
	}
	cfg := blob("application/vnd.oci.empty.v1+json", emptyConfig)
	cfg.Data = emptyConfig
	layer := blob(SPDXMediaType, sbom)
	layer.Annotations = map[string]string{keyTitle: "sbom.spdx.json"}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        cfg,
		Layers:        []v1.Descriptor{layer},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   map[string]string{keyCreated: created},
	}
	m.ArtifactType = SPDXMediaType
	raw, err := json.Marshal(m)
	return rawManifest{raw: raw, mt: types.OCIManifestSchema1}, err
}

// pushSBOM uploads the SBOM blobs and its manifest by digest; the registry
// lists it as a referrer of subject (its Referrers API, or ggcr keeps the
// OCI referrers tag sha256-<subject hex> on registries without it).
func pushSBOM(repo name.Repository, sbom []byte, subject v1.Descriptor, created string, opts []remote.Option) (v1.Hash, error) {
	for _, b := range []struct {
		mt   types.MediaType
		data []byte
	}{{"application/vnd.oci.empty.v1+json", emptyConfig}, {SPDXMediaType, sbom}} {
		if err := remote.WriteLayer(repo, static.NewLayer(b.data, b.mt), opts...); err != nil {
			return v1.Hash{}, fmt.Errorf("uploading SBOM blob: %w", err)
		}
	}
	m, err := sbomManifest(sbom, subject, created)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(m.raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(repo.Digest(h.String()), m, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing SBOM manifest: %w", err)
	}
	return h, nil
}
