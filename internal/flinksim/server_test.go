package flinksim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

func TestRouting(t *testing.T) {
	clock := flinksim.NewManualClock(time.Time{})
	srv := flinksim.New(flinksim.ServerOptions{Clock: clock, HostRouting: true})
	srv.AddCluster("alpha", flinksim.ClusterOptions{FlinkVersion: "1.19.0"})
	srv.AddCluster("beta", flinksim.ClusterOptions{FlinkVersion: "1.18.1"})
	tests := []struct {
		name, host, path string
		wantStatus       int
		wantVersion      string
	}{
		{"path prefix", "127.0.0.1:8081", "/c/alpha/overview", 200, "1.19.0"},
		{"host header", "beta.flink.svc:8081", "/overview", 200, "1.18.1"},
		{"prefix beats host", "beta.flink.svc", "/c/alpha/overview", 200, "1.19.0"},
		{"ip host has no cluster", "127.0.0.1:8081", "/overview", 503, ""},
		{"unknown cluster", "localhost", "/c/gamma/overview", 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+tc.path, nil)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if got := rec.Code; got != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", got, rec.Body, tc.wantStatus)
			}
			if tc.wantVersion != "" && !strings.Contains(rec.Body.String(), `"flink-version":"`+tc.wantVersion+`"`) {
				t.Errorf("body = %s, want flink-version %s", rec.Body, tc.wantVersion)
			}
		})
	}
}

func TestSingleClusterAtRoot(t *testing.T) {
	srv, c := flinksim.NewSingle(flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA}}})
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, base := range []string{srv.URL(), srv.ClusterURL(c.Name())} {
		resp, err := http.Get(base + "/jobs/" + jobA + "/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("GET %s = %d, want %d", base, got, want)
		}
	}
}

func TestNotFoundAndWrongMethod(t *testing.T) {
	for _, tc := range []struct {
		wrongMethod, want int
	}{{0, http.StatusNotFound}, {http.StatusMethodNotAllowed, http.StatusMethodNotAllowed}} {
		srv := flinksim.New(flinksim.ServerOptions{WrongMethodStatus: tc.wrongMethod})
		srv.AddCluster("c1", flinksim.ClusterOptions{})
		for _, r := range []struct {
			method, path string
			want         int
		}{
			{http.MethodPost, "/c/c1/jobs/overview", tc.want},
			{http.MethodGet, "/c/c1/cluster", tc.want},
			{http.MethodGet, "/c/c1/nope", http.StatusNotFound},
			{http.MethodGet, "/c/c1/jobs/xyz", http.StatusBadRequest},
		} {
			req, _ := http.NewRequest(r.method, r.path, nil)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if got := rec.Code; got != r.want {
				t.Errorf("WrongMethodStatus %d: %s %s = %d, want %d", tc.wrongMethod, r.method, r.path, got, r.want)
			}
			if !strings.HasPrefix(rec.Body.String(), `{"errors":["`) {
				t.Errorf("%s %s body = %s, want Flink errors", r.method, r.path, rec.Body)
			}
		}
	}
}

func TestVanish(t *testing.T) {
	srv := flinksim.New(flinksim.ServerOptions{})
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddCluster("c1", flinksim.ClusterOptions{})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	get := func() (int, error) {
		resp, err := client.Get(srv.ClusterURL("c1") + "/overview")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if code, err := get(); err != nil || code != 200 {
		t.Fatalf("before removal: %d, %v", code, err)
	}
	if !srv.RemoveCluster("c1") {
		t.Fatal("RemoveCluster = false")
	}
	for _, tc := range []struct {
		v        flinksim.Vanish
		wantCode int
		wantErr  bool
	}{
		{flinksim.VanishUnavailable, 503, false},
		{flinksim.VanishNotFound, 404, false},
		{flinksim.VanishHang, 0, true},
		{flinksim.VanishReset, 0, true},
	} {
		srv.SetVanish(tc.v)
		start := time.Now()
		code, err := get()
		if (err != nil) != tc.wantErr || code != tc.wantCode {
			t.Errorf("vanish %d: %d, %v; want %d, error %v", tc.v, code, err, tc.wantCode, tc.wantErr)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("vanish %d took %v", tc.v, d)
		}
	}
}

func TestShutdown(t *testing.T) {
	e := newEnv(t)
	e.srv.AddCluster("c1", flinksim.ClusterOptions{})
	e.call(http.MethodDelete, "/c/c1/cluster", "", http.StatusOK)
	e.call(http.MethodGet, "/c/c1/overview", "", http.StatusServiceUnavailable)

	// An application cluster that shuts down on finish vanishes with its job.
	e.srv.AddCluster("app", flinksim.ClusterOptions{Application: true, ShutdownOnApplicationFinish: true,
		Jobs: []flinksim.JobSpec{{ID: jobA, Script: flinksim.Script{{State: flinksim.Running, For: time.Minute}, {State: flinksim.Finished}}}}})
	e.call(http.MethodGet, "/c/app/jobs/"+jobA, "", http.StatusOK)
	e.clock.Advance(time.Minute)
	e.call(http.MethodGet, "/c/app/jobs/"+jobA, "", http.StatusServiceUnavailable)
	if e.srv.Cluster("app") != nil {
		t.Error("application cluster still present after its job finished")
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	srv := flinksim.New(flinksim.ServerOptions{Vanish: flinksim.VanishHang})
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL() + "/c/none/overview")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	srv.Close()
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("hung request not released by Close")
	}
}
