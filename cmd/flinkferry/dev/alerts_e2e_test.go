package dev

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// syncLines collects the printer's lines.
type syncLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncLines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLines) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the printer printed want.
func (s *syncLines) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("alert printer did not print %q:\n%s", want, s.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDevFailingAJobPrintsTheAlertAndItsResolution is what a newcomer
// sees: the dev stack runs the alert worker with the webhook printer; a
// job made to fail in the simulator (through the dev control endpoint,
// as `flinkferry dev fail` does) is printed as an alert, and as resolved
// once Flink restarted it; a job failing for good is printed too.
func TestDevFailingAJobPrintsTheAlertAndItsResolution(t *testing.T) {
	testenv.LookPath(t, "redis-server")
	var out syncLines
	env, kube, store := startWithAlerts(t, &out)
	env.SetControl(ControlHandler(kube))
	const key = "/flink-jobs/alerting"
	submitDemo(t, env, "alerting")
	waitRunning(t, store, key, 90*time.Second)

	// Through the control endpoint, as `flinkferry dev fail --restart` does.
	if code := post(t, env.ArtifactsURL+ControlPath+"fail/alerting?restart=2s"); code != http.StatusNoContent {
		t.Fatalf("POST fail = %d", code)
	}
	out.waitFor(t, "alert: [FIRING] warning job-restarting "+key+" RUNNING → RESTARTING")
	out.waitFor(t, "alert: [RESOLVED] warning job-restarting "+key+" RESTARTING → RUNNING")

	// Failed for good: the critical alert. (The track worker's FAILED
	// event carries no reason or root exception yet, so neither is shown.)
	if err := kube.FailJob("alerting", FailOptions{Cause: "java.lang.IllegalStateException: demo"}); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "alert: [FIRING] critical job-failed "+key+" RUNNING → FAILED")
	if code := post(t, env.ArtifactsURL+ControlPath+"fail/nope"); code != http.StatusNotFound {
		t.Errorf("failing an unknown job = %d, want 404", code)
	}
}

func post(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startWithAlerts starts the embedded peers on free ports, the fake
// clientset and the four workers, the alert printer writing to out.
func startWithAlerts(t *testing.T, out io.Writer) (*Env, *Kube, *jobstore.Store) {
	t.Helper()
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	ctx := context.Background()
	env, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	log := slog.New(slog.DiscardHandler)
	kube, err := StartKube(ctx, KubeOptions{FakeClientset: true, StartDelay: 300 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	w, err := StartWorkersWith(env, kube, log, WorkerOptions{AlertOut: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(); err != nil {
			t.Error(err)
		}
	})
	rdb, err := redisclient.New(ctx, redisclient.Config{URL: env.RedisURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	store, err := jobstore.New(rdb, jobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env, kube, store
}
