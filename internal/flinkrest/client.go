package flinkrest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultRequestTimeout      = 5 * time.Second
	DefaultSubmitTimeout       = 2 * time.Minute
	DefaultMaxBodyBytes        = 32 << 20
	DefaultMaxIdleConnsPerHost = 64
	DefaultUserAgent           = "flinkferry"
)

// maxErrorBodyBytes bounds what is read of an error answer.
const maxErrorBodyBytes = 64 << 10

// Options configures a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends every request; its Timeout should be zero (the
	// client bounds each request itself). Default: a client on a transport
	// of its own, see NewTransport.
	HTTPClient *http.Client
	// RequestTimeout bounds each read request, from sending it to the
	// last byte of the answer (default 5s).
	RequestTimeout time.Duration
	// SubmitTimeout bounds a jar upload and a jar run, which carry a whole
	// jar or wait for the job's main method (default 2m).
	SubmitTimeout time.Duration
	// UserAgent is sent with every request (default "flinkferry").
	UserAgent string
	// MaxBodyBytes is the largest answer read; a larger one is a
	// DecodeError (default 32 MiB).
	MaxBodyBytes int64
	// MaxIdleConnsPerHost of the default transport (default 64): one host
	// serves many JobManagers behind an API server's service proxy.
	MaxIdleConnsPerHost int
}

// Client talks to any number of Flink JobManagers. It is safe for
// concurrent use.
type Client struct {
	hc            *http.Client
	timeout       time.Duration
	submitTimeout time.Duration
	ua            string
	maxBody       int64
}

// New returns a Client with opts, defaults filled in.
func New(opts Options) *Client {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.SubmitTimeout <= 0 {
		opts.SubmitTimeout = DefaultSubmitTimeout
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(opts.MaxIdleConnsPerHost)}
	}
	return &Client{hc: hc, timeout: opts.RequestTimeout, submitTimeout: opts.SubmitTimeout, ua: opts.UserAgent, maxBody: opts.MaxBodyBytes}
}

// NewTransport returns the pooled transport a Client uses by default:
// keep-alive connections with no cap on the total number of idle
// connections (a fleet of JobManagers is polled every few seconds, and a
// total cap would redial most of them each time), at most
// maxIdlePerHost idle connections per host, 5s to connect, proxies from
// the environment as http.DefaultTransport does, a 1 KiB write buffer.
func NewTransport(maxIdlePerHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   maxIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Requests are small GETs and uploads stream: a 1 KiB write
		// buffer instead of 4 KiB saves 30 MiB at 10,000 connections.
		WriteBufferSize: 1 << 10,
	}
}

// CloseIdleConnections closes the idle connections of the client's
// transport.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// endpoint joins a base URL (which may end in '/' and carry a path prefix)
// and an API path starting with '/'.
func endpoint(base, path string) string {
	return strings.TrimRight(base, "/") + path
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getJSON GETs base+path and decodes the answer into out.
func (c *Client) getJSON(ctx context.Context, base, path string, out any) error {
	return c.doJSON(ctx, c.timeout, http.MethodGet, endpoint(base, path), nil, "", -1, out)
}

// doJSON sends one request and decodes a 2xx answer into out (nil: the
// body is read and dropped). Any other status is an *Error.
func (c *Client) doJSON(ctx context.Context, timeout time.Duration, method, url string, body io.Reader, contentType string, length int64, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return &RequestError{Method: method, URL: sanitizeURL(url), Err: stripURLError(err)}
	}
	if body != nil {
		req.ContentLength = length
		if length == 0 {
			req.Body = http.NoBody
		}
	}
	h := req.Header
	h["Accept"] = acceptJSON
	h["User-Agent"] = []string{c.ua}
	if contentType != "" {
		h["Content-Type"] = []string{contentType}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &RequestError{Method: method, URL: sanitizeURL(url), Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.errorFrom(method, url, resp)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if resp.ContentLength > 0 && resp.ContentLength <= c.maxBody {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return &RequestError{Method: method, URL: sanitizeURL(url), Err: fmt.Errorf("reading the %d answer: %w", resp.StatusCode, err)}
	}
	if n > c.maxBody {
		return &DecodeError{Method: method, URL: sanitizeURL(url), StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
			Err: fmt.Errorf("answer larger than %d bytes", c.maxBody)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return &DecodeError{Method: method, URL: sanitizeURL(url), StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Err: err}
	}
	return nil
}

var acceptJSON = []string{"application/json"}

// errorFrom reads a non-2xx answer into an *Error: Flink's
// {"errors":[...]} when the body is that, otherwise the message of a
// Kubernetes Status or the start of the body.
func (c *Client) errorFrom(method, url string, resp *http.Response) error {
	e := &Error{Method: method, URL: sanitizeURL(url), StatusCode: resp.StatusCode, NotFlink: true}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	if err != nil && len(b) == 0 {
		return e
	}
	var body struct {
		Errors  *[]string `json:"errors"`
		Kind    string    `json:"kind"`
		Message string    `json:"message"`
	}
	if json.Unmarshal(b, &body) == nil {
		switch {
		case body.Errors != nil:
			e.Errors, e.NotFlink = *body.Errors, false
			return e
		case body.Message != "":
			e.Errors = []string{body.Message}
			return e
		}
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		e.Errors = []string{truncate(s, 200)}
	}
	return e
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
