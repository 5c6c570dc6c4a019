package flinksim_test

import (
	"bytes"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

func TestCheckpoints(t *testing.T) {
	e := newEnv(t)
	e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{
		ID:          jobA,
		Script:      flinksim.Script{{State: flinksim.Running}},
		Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second, Duration: 2 * time.Second, FailEvery: 3},
	}}})
	url := "/c/c1/jobs/" + jobA + "/checkpoints"

	// Before the first checkpoint: zero counts, null latest, "NaN" percentiles.
	cp := e.getJSON(url, http.StatusOK)
	if got := path(cp, "latest", "completed"); got != nil {
		t.Errorf("latest.completed = %v, want null", got)
	}
	if got, want := path(cp, "summary", "state_size", "p99"), "NaN"; got != want {
		t.Errorf("summary.state_size.p99 = %v, want %q", got, want)
	}

	e.clock.Advance(11 * time.Second) // checkpoint 1 in progress
	cp = e.getJSON(url, http.StatusOK)
	if got, want := path(cp, "counts", "in_progress"), float64(1); got != want {
		t.Errorf("counts.in_progress = %v, want %v", got, want)
	}
	if got, want := path(cp, "history", 0, "@class"), "in_progress"; got != want {
		t.Errorf("history[0].@class = %v, want %v", got, want)
	}

	e.clock.Advance(30 * time.Second) // t=41s: 1, 2 completed, 3 failed, 4 in progress
	cp = e.getJSON(url, http.StatusOK)
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"counts", "total"}, float64(4)},
		{[]any{"counts", "completed"}, float64(2)},
		{[]any{"counts", "failed"}, float64(1)},
		{[]any{"counts", "in_progress"}, float64(1)},
		{[]any{"latest", "completed", "id"}, float64(2)},
		{[]any{"latest", "completed", "@class"}, "completed"},
		{[]any{"latest", "failed", "id"}, float64(3)},
		{[]any{"latest", "failed", "@class"}, "failed"},
		{[]any{"history", 0, "id"}, float64(4)},
		{[]any{"history", 1, "status"}, "FAILED"},
		{[]any{"history", 2, "external_path"}, "s3://flink/checkpoints/" + jobA + "/chk-2"},
		{[]any{"summary", "end_to_end_duration", "max"}, float64(2000)},
	} {
		if got := path(cp, tc.path...); got != tc.want {
			t.Errorf("%v = %v, want %v", tc.path, got, tc.want)
		}
	}
	if got, ok := path(cp, "summary", "state_size", "p50").(float64); !ok || math.IsNaN(got) || got <= 0 {
		t.Errorf("summary.state_size.p50 = %v, want a positive number", path(cp, "summary", "state_size", "p50"))
	}
}

func TestCheckpointsDisabledAndRestored(t *testing.T) {
	e := newEnv(t)
	e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{
		ID: jobA, RestoredFrom: "s3://b/sp-1",
		Script: flinksim.Script{{State: flinksim.Initializing, For: time.Second}, {State: flinksim.Running}},
	}}})
	cfg := e.call(http.MethodGet, "/c/c1/jobs/"+jobA+"/checkpoints/config", "", http.StatusOK)
	// Compare the raw text: 2^63-1 does not survive a float64.
	if want := `"interval":9223372036854775807`; !bytes.Contains(cfg, []byte(want)) {
		t.Errorf("checkpoint config %s lacks %s", cfg, want)
	}
	e.clock.Advance(time.Minute)
	cp := e.getJSON("/c/c1/jobs/"+jobA+"/checkpoints", http.StatusOK)
	if got, want := path(cp, "counts", "total"), float64(0); got != want {
		t.Errorf("counts.total = %v, want %v", got, want)
	}
	if got, want := path(cp, "counts", "restored"), float64(1); got != want {
		t.Errorf("counts.restored = %v, want %v", got, want)
	}
	if got, want := path(cp, "latest", "restored", "external_path"), "s3://b/sp-1"; got != want {
		t.Errorf("latest.restored.external_path = %v, want %v", got, want)
	}
}

func TestRestartRestoresLatestCheckpoint(t *testing.T) {
	e := newEnv(t)
	e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{
		ID: jobA,
		Script: flinksim.Script{
			{State: flinksim.Running, For: 25 * time.Second},
			{State: flinksim.Restarting, For: 5 * time.Second},
			{State: flinksim.Running},
		},
		Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second, Duration: time.Second},
	}}})
	e.clock.Advance(31 * time.Second)
	cp := e.getJSON("/c/c1/jobs/"+jobA+"/checkpoints", http.StatusOK)
	if got, want := path(cp, "latest", "restored", "id"), float64(2); got != want {
		t.Errorf("latest.restored.id = %v, want %v", got, want)
	}
	if got, want := path(cp, "counts", "restored"), float64(1); got != want {
		t.Errorf("counts.restored = %v, want %v", got, want)
	}
	ex := e.getJSON("/c/c1/jobs/"+jobA+"/exceptions", http.StatusOK)
	if got, want := len(path(ex, "exceptionHistory", "entries").([]any)), 1; got != want {
		t.Errorf("exception entries = %d, want %d", got, want)
	}
}

// TestServerDefaultCheckpoints: ServerOptions.Checkpoints applies to the
// jobs of AddCluster that configure none; a job's own spec wins.
func TestServerDefaultCheckpoints(t *testing.T) {
	clock := flinksim.NewManualClock(time.Time{})
	e := &env{t: t, clock: clock, srv: flinksim.New(flinksim.ServerOptions{Clock: clock, Seed: 1,
		Checkpoints: flinksim.CheckpointSpec{Interval: 2 * time.Second}})}
	running := flinksim.Script{{State: flinksim.Running}}
	e.srv.AddCluster("dflt", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA, Script: running}}})
	e.srv.AddCluster("own", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA, Script: running,
		Checkpoints: flinksim.CheckpointSpec{Interval: time.Hour}}}})
	e.clock.Advance(7 * time.Second)
	for _, tc := range []struct {
		cluster string
		want    any
	}{
		{"dflt", "s3://flink/checkpoints/" + jobA + "/chk-3"}, // at 2, 4 and 6 s
		{"own", nil},
	} {
		cp := e.getJSON("/c/"+tc.cluster+"/jobs/"+jobA+"/checkpoints", http.StatusOK)
		if got := path(cp, "latest", "completed", "external_path"); got != tc.want {
			t.Errorf("%s: latest completed checkpoint = %v, want %v", tc.cluster, got, tc.want)
		}
	}
}
