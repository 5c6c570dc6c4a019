package flinkrest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// Error is an HTTP answer outside 2xx.
type Error struct {
	// Method and URL of the request; URL has no credentials and no query.
	Method, URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Errors are Flink's error strings ({"errors":[...]}; often a Java
	// stack trace each). When NotFlink is set they hold the message of a
	// Kubernetes Status or the first 200 bytes of the body instead.
	Errors []string
	// NotFlink is set when the body was not Flink's error body: a proxy,
	// ingress or load balancer answered for a JobManager that is not
	// behind it.
	NotFlink bool
}

// Error returns the method, URL, status and the first line of each of
// Flink's error strings.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flink rest %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	for i, s := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
		b.WriteString(truncate(line, 512))
	}
	return b.String()
}

// Message returns Flink's error strings joined by newlines, cut to at
// most max bytes (max <= 0: no limit), for people reading why Flink
// refused a request.
func (e *Error) Message(max int) string {
	s := strings.TrimSpace(strings.Join(e.Errors, "\n"))
	if max > 0 {
		s = truncate(s, max)
	}
	return s
}

// DecodeError is a 2xx answer whose body is not what Flink sends:
// truncated, not JSON (an HTML page from a misrouted proxy), or too large.
type DecodeError struct {
	// Method and URL of the request; URL has no credentials and no query.
	Method, URL string
	// StatusCode and ContentType of the answer.
	StatusCode  int
	ContentType string
	// Err is the decoding error.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("flink rest %s %s: decoding the %d answer (%s): %v", e.Method, e.URL, e.StatusCode, e.ContentType, e.Err)
}

// Unwrap returns the decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }

// RequestError is a request that got no (complete) answer: connection
// refused or reset, timeout, DNS failure, TLS failure.
type RequestError struct {
	// Method and URL of the request; URL has no credentials and no query.
	Method, URL string
	// Err is the cause (context.DeadlineExceeded on a timeout, a net.Error,
	// io.ErrUnexpectedEOF...).
	Err error
}

// Error implements error.
func (e *RequestError) Error() string {
	return fmt.Sprintf("flink rest %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of an *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether Flink itself answered 404: an unknown job,
// jar or trigger. A 404 from a proxy in front of a missing JobManager is
// not "not found" but unavailable.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound && !e.NotFlink
}

// IsBadRequest reports whether Flink answered 400: it refused the request
// (a jar run whose main method failed, a duplicate job id, a bad jar).
func IsBadRequest(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusBadRequest && !e.NotFlink
}

// IsUnavailable reports whether err says the JobManager could not answer
// right now, so that trying again later may succeed: connection refused
// or reset, DNS failure, a timeout, 5xx, 408, 429, a proxy's 404 for a
// missing backend, a truncated or undecodable body. A cancelled context
// is not unavailability.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var he *Error
	if errors.As(err, &he) {
		switch {
		case he.StatusCode >= 500, he.StatusCode == http.StatusRequestTimeout, he.StatusCode == http.StatusTooManyRequests:
			return true
		case he.NotFlink && he.StatusCode == http.StatusNotFound:
			return true
		}
		return false
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	return errors.As(err, &dns) || errors.As(err, &op) || (errors.As(err, &ne) && ne.Timeout())
}

// sanitizeURL returns raw without credentials, query or fragment.
func sanitizeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Never echo what could not be parsed: it may hold credentials.
		return "<invalid URL>"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// stripURLError drops the URL a *url.Error repeats (with the user name
// and query); the caller names the sanitized URL itself.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
