package build

import (
	"archive/zip"
	"context"
	"crypto/sha1" //nolint:gosec // Maven Central publishes .sha1 files; sha1 only checks transfer integrity here
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// Fetcher downloads job jars from allow-listed hosts to local files,
// hashing while it streams, never holding a jar in memory.
type Fetcher struct {
	// AllowedHosts lists hosts ("host", "host:port" or "*.domain").
	AllowedHosts []string
	// MaxBytes bounds a jar's size.
	MaxBytes int64
	// Dir receives the downloaded files (default os.TempDir()).
	Dir string
	// Client is the HTTP client (default: one with sane timeouts). Its
	// CheckRedirect is replaced so redirects stay on allowed hosts.
	Client *http.Client
}

// Artifact is a downloaded jar.
type Artifact struct {
	Path   string
	Name   string // file name in the image, e.g. wordcount.jar
	Size   int64
	SHA256 string
}

// Remove deletes the local file.
func (a *Artifact) Remove() { _ = os.Remove(a.Path) }

// Fetch downloads rawURL. When wantSHA256 is set the jar must match it;
// when wantSHA1 is set (Maven), likewise.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, wantSHA256, wantSHA1 string) (*Artifact, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, failure.Permanentf(messages.BuildReasonArtifactRefused, "artifact URL %q is not an absolute http(s) URL", redactURL(rawURL))
	}
	if !f.allowed(u) {
		return nil, failure.Permanentf(messages.BuildReasonArtifactHostNotAllowed, "artifact host %q is not in the allow-list (FLINKFERRY_BUILD_ARTIFACT_ALLOWED_HOSTS)", u.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, failure.Permanent(messages.BuildReasonArtifactRefused, err)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		var pe *failure.PermanentError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, fmt.Errorf("fetching %s: %w", redactURL(rawURL), stripURL(err))
	}
	defer resp.Body.Close()
	if err := statusError(resp, rawURL); err != nil {
		return nil, err
	}
	if resp.ContentLength > f.MaxBytes {
		return nil, failure.Permanentf(messages.BuildReasonArtifactTooLarge, "artifact is %d bytes, more than the limit of %d", resp.ContentLength, f.MaxBytes)
	}

	tmp, err := os.CreateTemp(f.Dir, "flinkferry-jar-*")
	if err != nil {
		return nil, fmt.Errorf("creating download file: %w", err)
	}
	a := &Artifact{Path: tmp.Name(), Name: jarName(u.Path)}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			a.Remove()
		}
	}()
	h256, h1 := sha256.New(), sha1.New() //nolint:gosec
	sinks := []io.Writer{tmp, h256}
	if wantSHA1 != "" {
		sinks = append(sinks, h1)
	}
	n, err := io.Copy(io.MultiWriter(sinks...), io.LimitReader(resp.Body, f.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", redactURL(rawURL), stripURL(err))
	}
	if n > f.MaxBytes {
		return nil, failure.Permanentf(messages.BuildReasonArtifactTooLarge, "artifact is larger than the limit of %d bytes", f.MaxBytes)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing download file: %w", err)
	}
	a.Size, a.SHA256 = n, hex.EncodeToString(h256.Sum(nil))
	if wantSHA256 != "" && !strings.EqualFold(wantSHA256, a.SHA256) {
		return nil, failure.Permanentf(messages.BuildReasonChecksumMismatch, "artifact sha256 is %s, the request expects %s", a.SHA256, wantSHA256)
	}
	if got := hex.EncodeToString(h1.Sum(nil)); wantSHA1 != "" && !strings.EqualFold(wantSHA1, got) {
		return nil, failure.Permanentf(messages.BuildReasonChecksumMismatch, "artifact sha1 is %s, the repository's checksum file says %s", got, wantSHA1)
	}
	if err := checkJar(a.Path); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// FetchText downloads a small text file (a Maven checksum) from an allowed host.
func (f *Fetcher) FetchText(ctx context.Context, rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !f.allowed(u) {
		return "", failure.Permanentf(messages.BuildReasonArtifactHostNotAllowed, "host of %q is not allowed", redactURL(rawURL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", failure.Permanent(messages.BuildReasonArtifactRefused, err)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", redactURL(rawURL), stripURL(err))
	}
	defer resp.Body.Close()
	if err := statusError(resp, rawURL); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", redactURL(rawURL), stripURL(err))
	}
	return string(b), nil
}

func (f *Fetcher) client() *http.Client {
	c := f.Client
	if c == nil {
		c = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   4,
		}}
	}
	cc := *c
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return failure.Permanentf(messages.BuildReasonArtifactRefused, "more than 10 redirects")
		}
		if !f.allowed(req.URL) {
			return failure.Permanentf(messages.BuildReasonArtifactHostNotAllowed, "artifact redirected to %q, which is not in the allow-list", req.URL.Host)
		}
		return nil
	}
	return &cc
}

// allowed reports whether u's host is allow-listed.
func (f *Fetcher) allowed(u *url.URL) bool {
	host, hostport := strings.ToLower(u.Hostname()), strings.ToLower(u.Host)
	for _, a := range f.AllowedHosts {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "":
		case strings.HasPrefix(a, "*."):
			if strings.HasSuffix(host, a[1:]) {
				return true
			}
		case a == host || a == hostport:
			return true
		}
	}
	return false
}

// statusError classifies a non-2xx answer: missing and forbidden artifacts
// are permanent, server errors and throttling are transient.
func statusError(resp *http.Response, rawURL string) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return failure.Permanentf(messages.BuildReasonArtifactNotFound, "artifact %s not found (HTTP %d)", redactURL(rawURL), code)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return failure.Permanentf(messages.BuildReasonArtifactForbidden, "artifact server refused access to %s (HTTP %d)", redactURL(rawURL), code)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("artifact server answered HTTP %d for %s", code, redactURL(rawURL))
	default:
		return failure.Permanentf(messages.BuildReasonArtifactRefused, "artifact server answered HTTP %d for %s", code, redactURL(rawURL))
	}
}

// checkJar verifies the file is a zip archive (a jar is one).
func checkJar(p string) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return failure.Permanentf(messages.BuildReasonNotAJar, "the artifact is not a jar (zip) file: %v", err)
	}
	defer zr.Close()
	if len(zr.File) == 0 {
		return failure.Permanentf(messages.BuildReasonNotAJar, "the artifact is an empty zip file")
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// jarName derives the jar's file name in the image from the URL path.
func jarName(p string) string {
	name := unsafeName.ReplaceAllString(path.Base(p), "_")
	name = strings.TrimLeft(name, ".")
	if name == "" || name == "_" {
		name = "job"
	}
	if !strings.HasSuffix(strings.ToLower(name), ".jar") {
		name += ".jar"
	}
	if len(name) > 100 {
		name = name[len(name)-100:]
	}
	return name
}

// redactURL drops credentials and the query (signed URLs carry tokens there).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.Fragment = ""
	return u.String()
}

// stripURL removes the URL from a *url.Error, which would otherwise repeat
// the query string (and any token in it) in logs and events.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
