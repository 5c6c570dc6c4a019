package build

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// Registry is where images are pushed, and how base images are pulled.
type Registry struct {
	// Host is the registry host[:port] images are pushed to.
	Host string
	// Namespace is the repository path under Host (StreamPark's
	// streampark.docker.register.image-namespace).
	Namespace string
	// Auth authenticates to Host.
	Auth authn.Authenticator
	// Keychain authenticates base image pulls from other registries.
	Keychain authn.Keychain
	// Insecure talks plain HTTP to Host (local registries only).
	Insecure bool
	// Transport carries every registry request (default remote.DefaultTransport).
	Transport http.RoundTripper
}

// nameOpts are the parse options for references on r.
func (r *Registry) nameOpts(ref string) []name.Option {
	if r.Insecure && (strings.HasPrefix(ref, r.Host+"/")) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Repository returns <host>/<namespace>/<repo>.
func (r *Registry) Repository(repo string) (name.Repository, error) {
	full := r.Host + "/" + strings.Trim(r.Namespace, "/") + "/" + repo
	if r.Namespace == "" {
		full = r.Host + "/" + repo
	}
	return name.NewRepository(full, r.nameOpts(full)...)
}

// ParseBase parses a base image reference; a malformed one is permanent.
func (r *Registry) ParseBase(ref string) (name.Reference, error) {
	n, err := name.ParseReference(ref, r.nameOpts(ref)...)
	if err != nil {
		return nil, failure.Permanentf(messages.BuildReasonBadBaseImage, "base image %q is not a valid reference: %v", ref, err)
	}
	return n, nil
}

// options returns the remote options for a request about ref.
func (r *Registry) options(ctx context.Context, ref name.Reference) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("flinkferry")}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	if ref.Context().RegistryStr() == r.Host && r.Auth != nil {
		return append(opts, remote.WithAuth(r.Auth))
	}
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return append(opts, remote.WithAuthFromKeychain(kc))
}

// classify turns a registry error into a permanent error when retrying
// cannot help (authentication refused, unknown image, invalid request).
// Credentials never appear: ggcr's errors do not contain them.
func classify(err error, what string, missingReason string) error {
	if err == nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return failure.Permanentf(messages.BuildReasonRegistryAuthRefused, "%s: registry refused the credentials (HTTP %d)", what, te.StatusCode)
		case te.StatusCode == http.StatusNotFound:
			return failure.Permanentf(missingReason, "%s: not found in the registry", what)
		case te.Temporary() || te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%s: %w", what, err)
		case te.StatusCode >= 400:
			return failure.Permanentf(messages.BuildReasonRegistryRefused, "%s: %v", what, err)
		}
	}
	if strings.Contains(err.Error(), "unsupported status code 401") || strings.Contains(err.Error(), "UNAUTHORIZED") {
		return failure.Permanentf(messages.BuildReasonRegistryAuthRefused, "%s: registry refused the credentials", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}
