package flinksim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

func TestFaults(t *testing.T) {
	srv := flinksim.New(flinksim.ServerOptions{})
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	type result struct {
		status  int
		body    []byte
		err     error
		elapsed time.Duration
	}
	get := func(url string, timeout time.Duration) result {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		start := time.Now()
		// A fresh connection per request: on a reused one, Go's transport
		// silently retries a GET whose connection was reset.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			return result{err: err, elapsed: time.Since(start)}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return result{status: resp.StatusCode, body: b, err: err, elapsed: time.Since(start)}
	}
	validJSON := func(b []byte) bool { var v any; return json.Unmarshal(b, &v) == nil }

	tests := []struct {
		name  string
		fault flinksim.Fault
		check func(t *testing.T, r result)
	}{{
		name:  "error 500",
		fault: flinksim.Fault{Kind: flinksim.FaultError, Times: 1},
		check: func(t *testing.T, r result) {
			if r.status != 500 || string(r.body) != `{"errors":["Internal server error."]}` {
				t.Errorf("got %d %s", r.status, r.body)
			}
		},
	}, {
		name:  "error 503",
		fault: flinksim.Fault{Kind: flinksim.FaultError, Status: 503, Message: "leader unavailable", Times: 1},
		check: func(t *testing.T, r result) {
			if r.status != 503 {
				t.Errorf("got %d %s", r.status, r.body)
			}
		},
	}, {
		name:  "timeout",
		fault: flinksim.Fault{Kind: flinksim.FaultTimeout, Times: 1},
		check: func(t *testing.T, r result) {
			if !errors.Is(r.err, context.DeadlineExceeded) || r.elapsed > 2*time.Second {
				t.Errorf("got %v after %v, want a deadline error soon", r.err, r.elapsed)
			}
		},
	}, {
		name:  "slow",
		fault: flinksim.Fault{Kind: flinksim.FaultSlow, Delay: 150 * time.Millisecond, Times: 1},
		check: func(t *testing.T, r result) {
			if r.status != 200 || r.elapsed < 150*time.Millisecond {
				t.Errorf("got %d after %v", r.status, r.elapsed)
			}
		},
	}, {
		name:  "truncated",
		fault: flinksim.Fault{Kind: flinksim.FaultTruncated, Times: 1},
		check: func(t *testing.T, r result) {
			if r.status != 200 || validJSON(r.body) || len(r.body) == 0 {
				t.Errorf("got %d %q, want truncated JSON", r.status, r.body)
			}
		},
	}, {
		name:  "not json",
		fault: flinksim.Fault{Kind: flinksim.FaultNotJSON, Times: 1},
		check: func(t *testing.T, r result) {
			if r.status != 200 || validJSON(r.body) {
				t.Errorf("got %d %q, want non-JSON", r.status, r.body)
			}
		},
	}, {
		name:  "reset",
		fault: flinksim.Fault{Kind: flinksim.FaultReset, Times: 1},
		check: func(t *testing.T, r result) {
			if r.err == nil {
				t.Errorf("got %d, want a connection error", r.status)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA}}})
			c.InjectFault(tc.fault)
			url := srv.ClusterURL("c1") + "/jobs/overview"
			tc.check(t, get(url, 300*time.Millisecond))
			// Times: 1 means the next request is healthy again.
			if r := get(url, time.Second); r.err != nil || r.status != 200 || !validJSON(r.body) {
				t.Errorf("request after the fault: %d %s %v", r.status, r.body, r.err)
			}
		})
	}
}

func TestFaultScope(t *testing.T) {
	e := newEnv(t)
	c := e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA}}})
	c.InjectFault(flinksim.Fault{Kind: flinksim.FaultError, Status: 502, Path: "/jobs/{jobid}/checkpoints", Method: http.MethodGet})
	for range 3 { // until cleared
		e.call(http.MethodGet, "/c/c1/jobs/"+jobA+"/checkpoints", "", http.StatusBadGateway)
		e.call(http.MethodGet, "/c/c1/jobs/"+jobA, "", http.StatusOK)
	}
	c.ClearFaults()
	e.call(http.MethodGet, "/c/c1/jobs/"+jobA+"/checkpoints", "", http.StatusOK)

	c.InjectFault(flinksim.Fault{Kind: flinksim.FaultError, Path: "/jobs/*", Times: 2})
	e.call(http.MethodGet, "/c/c1/jobs/overview", "", http.StatusInternalServerError)
	e.call(http.MethodGet, "/c/c1/overview", "", http.StatusOK)
	e.call(http.MethodGet, "/c/c1/jobs/"+jobA, "", http.StatusInternalServerError)
	e.call(http.MethodGet, "/c/c1/jobs/"+jobA, "", http.StatusOK)
	if got, want := c.Requests(), int64(11); got != want {
		t.Errorf("Requests() = %d, want %d", got, want)
	}
}
