package flinkrest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// TestFaults injects every fault kind of the simulator and checks the
// error class callers see, and that no request outlives RequestTimeout.
func TestFaults(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tt := range []struct {
		name        string
		fault       flinksim.Fault
		ok          bool // the request still succeeds
		status      int
		decode      bool // a *DecodeError
		deadline    bool // context.DeadlineExceeded
		unavailable bool
	}{
		{name: "500", fault: flinksim.Fault{Kind: flinksim.FaultError}, status: 500, unavailable: true},
		{name: "503", fault: flinksim.Fault{Kind: flinksim.FaultError, Status: 503, Message: "Service temporarily unavailable due to an ongoing leader election."}, status: 503, unavailable: true},
		{name: "429", fault: flinksim.Fault{Kind: flinksim.FaultError, Status: 429}, status: 429, unavailable: true},
		{name: "400 is not unavailability", fault: flinksim.Fault{Kind: flinksim.FaultError, Status: 400, Message: "Bad request."}, status: 400},
		{name: "timeout", fault: flinksim.Fault{Kind: flinksim.FaultTimeout}, deadline: true, unavailable: true},
		{name: "slow beyond the timeout", fault: flinksim.Fault{Kind: flinksim.FaultSlow, Delay: 10 * time.Second}, deadline: true, unavailable: true},
		{name: "slow within the timeout", fault: flinksim.Fault{Kind: flinksim.FaultSlow, Delay: 50 * time.Millisecond}, ok: true},
		{name: "truncated body", fault: flinksim.Fault{Kind: flinksim.FaultTruncated}, decode: true, unavailable: true},
		{name: "not JSON", fault: flinksim.Fault{Kind: flinksim.FaultNotJSON}, decode: true, unavailable: true},
		// Go retries an idempotent request once on a reset reused
		// connection, so two resets in a row reach the client.
		{name: "connection reset", fault: flinksim.Fault{Kind: flinksim.FaultReset, Times: 2}, unavailable: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, flinksim.ServerOptions{})
			jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA}}})
			c := newClient(flinkrest.Options{RequestTimeout: timeout})
			base := s.srv.ClusterURL("jm")
			ctx := context.Background()
			if _, err := c.Overview(ctx, base); err != nil { // a warm keep-alive connection
				t.Fatal(err)
			}
			f := tt.fault
			f.Path = "/jobs/overview"
			jm.InjectFault(f)

			begin := time.Now()
			jobs, err := c.JobsOverview(ctx, base)
			elapsed := time.Since(begin)
			if elapsed > timeout+time.Second {
				t.Errorf("the request took %v, RequestTimeout is %v", elapsed, timeout)
			}
			if tt.ok {
				if err != nil || len(jobs) != 1 {
					t.Fatalf("JobsOverview() = %v, %v; want the job", jobs, err)
				}
				return
			}
			if err == nil {
				t.Fatal("JobsOverview() succeeded, want an error")
			}
			if got := flinkrest.StatusCode(err); got != tt.status {
				t.Errorf("StatusCode(%v) = %d, want %d", err, got, tt.status)
			}
			var de *flinkrest.DecodeError
			if got := errors.As(err, &de); got != tt.decode {
				t.Errorf("%v is a DecodeError: %v, want %v", err, got, tt.decode)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.deadline {
				t.Errorf("%v is DeadlineExceeded: %v, want %v", err, got, tt.deadline)
			}
			if got := flinkrest.IsUnavailable(err); got != tt.unavailable {
				t.Errorf("IsUnavailable(%v) = %v, want %v", err, got, tt.unavailable)
			}
			if flinkrest.IsNotFound(err) {
				t.Errorf("IsNotFound(%v) = true", err)
			}
			if tt.status == 503 {
				var fe *flinkrest.Error
				if errors.As(err, &fe); fe == nil || fe.NotFlink || !strings.Contains(err.Error(), "leader election") {
					t.Errorf("503 error = %#v, want Flink's message", err)
				}
			}
			// The cluster answers again once the fault is gone.
			jm.ClearFaults()
			if _, err := c.JobsOverview(ctx, base); err != nil {
				t.Errorf("after the fault: %v", err)
			}
		})
	}
}

// TestVanishedCluster: a JobManager that is gone is unavailable however
// the proxy in front of it answers, and never "not found".
func TestVanishedCluster(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tt := range []struct {
		name   string
		vanish flinksim.Vanish
		status int
	}{
		{"service proxy 503", flinksim.VanishUnavailable, 503},
		{"ingress 404", flinksim.VanishNotFound, 404},
		{"hang", flinksim.VanishHang, 0},
		{"reset", flinksim.VanishReset, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, flinksim.ServerOptions{Vanish: tt.vanish})
			c := newClient(flinkrest.Options{RequestTimeout: timeout})
			begin := time.Now()
			_, err := c.Job(context.Background(), s.srv.ClusterURL("gone"), jobA)
			if elapsed := time.Since(begin); elapsed > timeout+time.Second {
				t.Errorf("the request took %v, RequestTimeout is %v", elapsed, timeout)
			}
			if !flinkrest.IsUnavailable(err) || flinkrest.IsNotFound(err) || flinkrest.StatusCode(err) != tt.status {
				t.Errorf("Job() on a vanished cluster: %v (status %d, unavailable %v, not found %v); want unavailable, status %d",
					err, flinkrest.StatusCode(err), flinkrest.IsUnavailable(err), flinkrest.IsNotFound(err), tt.status)
			}
			var fe *flinkrest.Error
			if errors.As(err, &fe) && !fe.NotFlink {
				t.Errorf("%v: NotFlink = false for a proxy's answer", err)
			}
		})
	}

	// Nothing listens at all: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = newClient(flinkrest.Options{}).Overview(context.Background(), "http://"+addr)
	if !flinkrest.IsUnavailable(err) {
		t.Errorf("connection refused: IsUnavailable(%v) = false", err)
	}
	// A cancelled context is the caller's doing, not unavailability.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newClient(flinkrest.Options{}).Overview(ctx, "http://"+addr); err == nil || flinkrest.IsUnavailable(err) {
		t.Errorf("cancelled: IsUnavailable(%v) = true", err)
	}
}

// TestErrorsHideCredentials: user info and query strings of a base URL
// never appear in an error.
func TestErrorsHideCredentials(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{Vanish: flinksim.VanishNotFound})
	s.srv.AddCluster("jm", flinksim.ClusterOptions{})
	c := newClient(flinkrest.Options{RequestTimeout: time.Second})
	ctx := context.Background()
	withCreds := func(u string) string { return strings.Replace(u, "http://", "http://admin:hunter2@", 1) }

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	var errs []error
	_, err = c.Job(ctx, withCreds(s.srv.ClusterURL("jm")), jobA) // Flink 404
	errs = append(errs, err)
	_, err = c.Job(ctx, withCreds(s.srv.ClusterURL("gone")), jobA) // proxy 404
	errs = append(errs, err)
	_, err = c.Overview(ctx, withCreds(refused)) // connection refused
	errs = append(errs, err)
	_, err = c.Overview(ctx, withCreds(refused)+"/%zz") // unparsable URL
	errs = append(errs, err)
	s.srv.Cluster("jm").InjectFault(flinksim.Fault{Kind: flinksim.FaultNotJSON})
	_, err = c.Overview(ctx, withCreds(s.srv.ClusterURL("jm")))
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("want an error")
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "admin") {
			t.Errorf("error %q leaks credentials", msg)
		}
	}
}

// TestDeleteJar checks the request DeleteJar sends. The simulator does
// not serve DELETE /jars/{jarid} (it answers Flink's 404 for an unknown
// route, which the last check pins), so the method and path are checked
// on a bare handler.
func TestDeleteJar(t *testing.T) {
	var got string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.EscapedPath()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := newClient(flinkrest.Options{})
	if err := c.DeleteJar(context.Background(), "http://"+ln.Addr().String()+"/prefix", "0d8b_wordcount.jar"); err != nil {
		t.Fatal(err)
	}
	if want := "DELETE /prefix/jars/0d8b_wordcount.jar"; got != want {
		t.Errorf("DeleteJar sent %q, want %q", got, want)
	}

	s := newSim(t, flinksim.ServerOptions{})
	s.srv.AddCluster("jm", flinksim.ClusterOptions{})
	if err := c.DeleteJar(context.Background(), s.srv.ClusterURL("jm"), "x.jar"); !flinkrest.IsNotFound(err) {
		t.Errorf("DeleteJar on the simulator = %v, want its 404", err)
	}
}
