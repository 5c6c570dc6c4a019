package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/devstate"
)

// TestDevFailAsksTheRunningInstance: `flinkferry dev fail` finds the dev
// instance through its state file and posts to its control endpoint; an
// unknown job's refusal is shown; without a running instance it says so.
func TestDevFailAsksTheRunningInstance(t *testing.T) {
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	if err := devFail(context.Background(), &bytes.Buffer{}, "wordcount", "", 0); err == nil || !strings.Contains(err.Error(), "finding the running flinkferry dev") {
		t.Errorf("devFail() without dev = %v", err)
	}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI())
		if strings.Contains(r.URL.Path, "nope") {
			http.Error(w, `not found: no simulated JobManager for "nope"`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if err := devstate.Write(devstate.State{PID: os.Getpid(), ArtifactsURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := devFail(context.Background(), &out, "wordcount", "", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wordcount is RESTARTING for 10s") {
		t.Errorf("output = %q", out.String())
	}
	if err := devFail(context.Background(), &out, "nope", "boom", 0); err == nil || !strings.Contains(err.Error(), `no simulated JobManager for "nope"`) {
		t.Errorf("devFail(nope) = %v", err)
	}
	want := []string{"POST " + dev.ControlPath + "fail/wordcount?restart=10s", "POST " + dev.ControlPath + "fail/nope?cause=boom"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests = %q, want %q", got, want)
	}
}
