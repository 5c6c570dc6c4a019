package build

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// countingTransport counts the request body bytes sent to blob upload
// endpoints: what a build really uploads.
type countingTransport struct {
	next     http.RoundTripper
	uploaded atomic.Int64
}

func newCountingTransport(next http.RoundTripper) *countingTransport {
	if next == nil {
		next = remote.DefaultTransport
	}
	return &countingTransport{next: next}
}

// RoundTrip implements http.RoundTripper.
func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && strings.Contains(req.URL.Path, "/blobs/uploads") {
		if req.ContentLength > 0 {
			// Count without wrapping, so a file body can still be sent
			// with sendfile; ggcr retries a failed upload from GetBody,
			// so the count may include a retried attempt.
			c.uploaded.Add(req.ContentLength)
		} else {
			req = req.Clone(req.Context())
			req.Body = &countingBody{ReadCloser: req.Body, n: &c.uploaded}
		}
	}
	return c.next.RoundTrip(req)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
