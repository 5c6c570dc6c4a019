package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/oci"
	"github.com/flinkferry/flinkferry/messages"
)

// JarSource opens a session job's jar, pushed by the build worker as an
// OCI artifact pinned by digest ("<repo>@sha256:...").
type JarSource interface {
	OpenJar(ctx context.Context, artifact string) (*Jar, error)
}

// Jar is an open jar: its bytes as they were pushed, streamed from the
// registry and checked against the layer digest at the end.
type Jar struct {
	io.ReadCloser
	// Size is the jar's size in bytes.
	Size int64
	// Name is the artifact's jar file name annotation (may be empty).
	Name string
}

// RegistryJars fetches jar artifacts from registries with
// go-containerregistry.
type RegistryJars struct {
	// Registry is the host Auth and Insecure apply to (the build
	// worker's registry).
	Registry string
	// Auth authenticates to Registry (nil: Keychain).
	Auth authn.Authenticator
	// Insecure talks plain HTTP to Registry.
	Insecure bool
	// Keychain authenticates to every other registry (default
	// authn.DefaultKeychain).
	Keychain authn.Keychain
	// Transport carries the registry requests (default
	// remote.DefaultTransport).
	Transport http.RoundTripper
}

// NewRegistryJars wires a RegistryJars from the worker's configuration.
func NewRegistryJars(c SubmitConfig) *RegistryJars {
	r := &RegistryJars{Registry: c.Registry, Insecure: c.RegistryInsecure, Keychain: authn.DefaultKeychain}
	if c.RegistryUsername != "" {
		r.Auth = &authn.Basic{Username: c.RegistryUsername, Password: c.RegistryPassword}
	}
	if c.DockerConfig != "" {
		r.Keychain = oci.DockerConfigKeychain(c.DockerConfig)
	}
	return r
}

// OpenJar reads the artifact's manifest and opens its jar layer (media
// type application/java-archive, or the only layer). A malformed
// reference, an artifact that is missing or holds no jar is permanent
// (bad_jar_artifact); refused credentials are permanent
// (registry_auth_refused); 5xx, 429 and network errors are transient.
func (r *RegistryJars) OpenJar(ctx context.Context, artifact string) (*Jar, error) {
	var nameOpts []name.Option
	if r.Insecure && r.Registry != "" {
		if ref, err := name.NewDigest(artifact); err == nil && ref.RegistryStr() == r.Registry {
			nameOpts = append(nameOpts, name.Insecure)
		}
	}
	ref, err := name.NewDigest(artifact, nameOpts...)
	if err != nil {
		return nil, failure.Permanentf(messages.DeployReasonBadJarArtifact, "jar artifact %q is not a digest reference: %v", artifact, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("flinkferry")}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	switch kc := r.Keychain; {
	case r.Auth != nil && ref.RegistryStr() == r.Registry:
		opts = append(opts, remote.WithAuth(r.Auth))
	case kc != nil:
		opts = append(opts, remote.WithAuthFromKeychain(kc))
	default:
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, classifyRegistry(err, "reading jar artifact "+artifact)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, classifyRegistry(err, "reading jar artifact "+artifact)
	}
	var desc *v1.Descriptor
	for i, l := range m.Layers {
		if l.MediaType == oci.JarLayerMediaType || len(m.Layers) == 1 {
			desc = &m.Layers[i]
			break
		}
	}
	if desc == nil {
		return nil, failure.Permanentf(messages.DeployReasonBadJarArtifact, "jar artifact %s has no %s layer", artifact, oci.JarLayerMediaType)
	}
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return nil, classifyRegistry(err, "reading jar artifact "+artifact)
	}
	rc, err := layer.Compressed() // the layer's bytes as pushed: the jar itself
	if err != nil {
		return nil, classifyRegistry(err, "fetching the jar of "+artifact)
	}
	return &Jar{ReadCloser: rc, Size: desc.Size, Name: desc.Annotations[oci.AnnotationJarName]}, nil
}

// classifyRegistry makes registry errors that retrying cannot fix
// permanent. ggcr's errors never contain credentials.
func classifyRegistry(err error, what string) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch code := te.StatusCode; {
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return failure.Permanentf(messages.DeployReasonRegistryAuthRefused, "%s: the registry refused the credentials (HTTP %d)", what, code)
		case te.Temporary() || code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
			return fmt.Errorf("%s: %w", what, err)
		case code >= 400:
			return failure.Permanentf(messages.DeployReasonBadJarArtifact, "%s: %v", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
