package flinksim

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"time"
)

// FaultKind is what an injected Fault does to a request.
type FaultKind int

// The fault kinds.
const (
	// FaultError answers Status (default 500) with a Flink error body.
	FaultError FaultKind = iota + 1
	// FaultTimeout never answers: the handler waits until the client
	// gives up (the request's context ends) or the server closes. With a
	// Delay it answers normally after Delay instead.
	FaultTimeout
	// FaultSlow answers normally after Delay (sooner if the client
	// gives up, then without an answer).
	FaultSlow
	// FaultTruncated sends the first half of the real body.
	FaultTruncated
	// FaultNotJSON answers 200 with an HTML page labelled as JSON, as a
	// misrouted proxy does.
	FaultNotJSON
	// FaultReset closes the connection without answering (TCP RST).
	// Go's transport retries an idempotent request once when a reused
	// keep-alive connection fails this way, so a Go client sees the error
	// only with Times >= 2 or a fresh connection.
	FaultReset
)

// Fault is an injected misbehaviour of one cluster.
type Fault struct {
	// Kind is what happens.
	Kind FaultKind
	// Method restricts the fault to one HTTP method; empty means any.
	Method string
	// Path restricts the fault to Flink paths matching this template,
	// where {name} matches one segment and a final /* matches the rest,
	// e.g. "/jobs/{jobid}/checkpoints"; empty means any path.
	Path string
	// Status of a FaultError (default 500).
	Status int
	// Message of a FaultError (default "Internal server error.").
	Message string
	// Delay of FaultSlow, or FaultTimeout's answer time (0 = never).
	Delay time.Duration
	// Times is how many matching requests the fault affects; zero means
	// every one until ClearFaults.
	Times int
}

type activeFault struct {
	Fault
	left int // remaining requests; -1 means until cleared
}

// InjectFault adds f to the cluster. When several faults match a request,
// the earliest injected one applies.
func (c *Cluster) InjectFault(f Fault) {
	af := &activeFault{Fault: f, left: f.Times}
	if f.Times <= 0 {
		af.left = -1
	}
	if af.Kind == FaultError && af.Status == 0 {
		af.Status = http.StatusInternalServerError
	}
	if af.Message == "" {
		af.Message = "Internal server error."
	}
	c.mu.Lock()
	c.faults = append(c.faults, af)
	c.mu.Unlock()
}

// ClearFaults removes every injected fault.
func (c *Cluster) ClearFaults() {
	c.mu.Lock()
	c.faults = nil
	c.mu.Unlock()
}

// takeFault returns the fault that applies to a request, using up one of
// its Times.
func (c *Cluster) takeFault(method, path string) *activeFault {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.faults {
		if (f.Method != "" && f.Method != method) || (f.Path != "" && !matchTemplate(f.Path, path)) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				c.faults = append(c.faults[:i:i], c.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

// applyFault performs f; it reports whether the request is answered (or
// abandoned) so that normal handling must not follow.
func (c *Cluster) applyFault(f *activeFault, w http.ResponseWriter, r *http.Request, path string) bool {
	switch f.Kind {
	case FaultError:
		writeError(w, f.Status, f.Message)
	case FaultTimeout:
		return !c.s.wait(r.Context(), f.Delay)
	case FaultSlow:
		return !c.s.wait(r.Context(), max(f.Delay, time.Nanosecond))
	case FaultTruncated:
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		c.route(rec, r, path)
		for k, v := range rec.header {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes()[:rec.body.Len()/2])
	case FaultNotJSON:
		writeBody(w, http.StatusOK, []byte("<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"))
	case FaultReset:
		reset(w)
	default:
		return false
	}
	return true
}

// wait sleeps for d (forever when d <= 0) and reports whether it slept
// the whole time rather than being cut short by ctx or Close.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// reset closes the client connection without a response, with SO_LINGER 0
// so the peer sees a reset. Without a hijackable connection the handler
// aborts, which net/http also turns into a dropped connection.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// matchTemplate matches a Flink path against a template like
// "/jobs/{jobid}/checkpoints" or "/jobs/*".
func matchTemplate(template, path string) bool {
	t := strings.Split(strings.Trim(template, "/"), "/")
	p := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range t {
		if seg == "*" && i == len(t)-1 {
			return true
		}
		if i >= len(p) {
			return false
		}
		if !(strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")) && seg != p[i] {
			return false
		}
	}
	return len(t) == len(p)
}

// recorder captures a response in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
