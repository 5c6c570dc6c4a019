package flinksim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

func runningJob(e *env, spec flinksim.JobSpec) *flinksim.Job {
	e.t.Helper()
	spec.ID = jobA
	spec.Script = flinksim.Script{{State: flinksim.Running}}
	spec.Savepoints.Duration = 3 * time.Second
	c := e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{spec}})
	return c.Job(jobA)
}

func trigger(e *env, path, body string) string {
	e.t.Helper()
	var resp struct {
		RequestID string `json:"request-id"`
	}
	if err := json.Unmarshal(e.call(http.MethodPost, path, body, http.StatusAccepted), &resp); err != nil {
		e.t.Fatal(err)
	}
	return resp.RequestID
}

func TestSavepoint(t *testing.T) {
	tests := []struct {
		name      string
		fail      bool
		body      string
		wantState flinksim.JobState
	}{
		{name: "success", body: `{"target-directory":"s3://sp","cancel-job":false}`, wantState: flinksim.Running},
		{name: "cancel job", body: `{"target-directory":"s3://sp","cancel-job":true}`, wantState: flinksim.Canceled},
		{name: "failure", fail: true, body: `{"target-directory":"s3://sp"}`, wantState: flinksim.Running},
		{name: "default directory", body: ``, wantState: flinksim.Running},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			j := runningJob(e, flinksim.JobSpec{Savepoints: flinksim.SavepointSpec{Fail: tc.fail, FailureCause: "java.io.IOException: bucket gone"}})
			id := trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", tc.body)
			status := "/c/c1/jobs/" + jobA + "/savepoints/" + id
			st := e.getJSON(status, http.StatusOK)
			if got, want := path(st, "status", "id"), "IN_PROGRESS"; got != want {
				t.Fatalf("status.id = %v, want %v", got, want)
			}
			if op, ok := st["operation"]; !ok || op != nil {
				t.Fatalf("operation = %v (present %v), want null", op, ok)
			}
			e.clock.Advance(3 * time.Second)
			st = e.getJSON(status, http.StatusOK)
			if got, want := path(st, "status", "id"), "COMPLETED"; got != want {
				t.Fatalf("status.id = %v, want %v", got, want)
			}
			loc, _ := path(st, "operation", "location").(string)
			cause := path(st, "operation", "failure-cause")
			if tc.fail {
				if loc != "" || cause == nil {
					t.Fatalf("operation = %v, want a failure-cause only", st["operation"])
				}
				if got, want := path(cause, "class"), "java.io.IOException"; got != want {
					t.Errorf("failure-cause.class = %v, want %v", got, want)
				}
			} else {
				wantDir := "s3://sp/savepoint-" + jobA[:6] + "-"
				if tc.body == "" {
					wantDir = "s3://flink/savepoints/savepoint-" + jobA[:6] + "-"
				}
				if !strings.HasPrefix(loc, wantDir) || cause != nil {
					t.Fatalf("operation = %v, want location %s...", st["operation"], wantDir)
				}
				cp := e.getJSON("/c/c1/jobs/"+jobA+"/checkpoints", http.StatusOK)
				if got := path(cp, "latest", "savepoint", "external_path"); got != loc {
					t.Errorf("latest.savepoint.external_path = %v, want %v", got, loc)
				}
			}
			if got, want := j.State(), tc.wantState; got != want {
				t.Errorf("job state = %v, want %v", got, want)
			}
		})
	}
}

func TestStopWithSavepoint(t *testing.T) {
	e := newEnv(t)
	j := runningJob(e, flinksim.JobSpec{})
	id := trigger(e, "/c/c1/jobs/"+jobA+"/stop", `{"targetDirectory":"s3://sp","drain":false}`)
	if got, want := j.State(), flinksim.Running; got != want {
		t.Fatalf("state while stopping = %v, want %v", got, want)
	}
	e.clock.Advance(3 * time.Second)
	st := e.getJSON("/c/c1/jobs/"+jobA+"/savepoints/"+id, http.StatusOK)
	if loc, _ := path(st, "operation", "location").(string); !strings.HasPrefix(loc, "s3://sp/savepoint-") {
		t.Fatalf("operation = %v, want a location", st["operation"])
	}
	if got, want := j.State(), flinksim.Finished; got != want {
		t.Fatalf("state after stop = %v, want %v", got, want)
	}
}

func TestSavepointErrors(t *testing.T) {
	e := newEnv(t)
	c := e.srv.AddCluster("c1", flinksim.ClusterOptions{Config: map[string]string{"state.savepoints.dir": ""}})
	j := c.AddJob(flinksim.JobSpec{ID: jobA, Script: flinksim.Script{{State: flinksim.Running}}})
	e.call(http.MethodPost, "/c/c1/jobs/"+jobA+"/savepoints", `{}`, http.StatusBadRequest)
	e.call(http.MethodPost, "/c/c1/jobs/"+jobA+"/savepoints", `{"target-dir":"x"}`, http.StatusBadRequest)
	e.call(http.MethodGet, "/c/c1/jobs/"+jobA+"/savepoints/"+strings.Repeat("f", 32), "", http.StatusNotFound)

	// A client-chosen triggerId is idempotent.
	body := `{"target-directory":"s3://sp","triggerId":"` + strings.Repeat("b", 32) + `"}`
	if a, b := trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", body), trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", body); a != b {
		t.Fatalf("trigger ids %s, %s differ", a, b)
	}

	// Unknown or non-running jobs: 202, then a failed operation.
	j.SetState(flinksim.Canceled)
	unknown := "00000000000000000000000000000000"
	for _, id := range []string{jobA, unknown} {
		tid := trigger(e, "/c/c1/jobs/"+id+"/savepoints", `{"target-directory":"s3://sp"}`)
		st := e.getJSON("/c/c1/jobs/"+id+"/savepoints/"+tid, http.StatusOK)
		if path(st, "status", "id") != "COMPLETED" || path(st, "operation", "failure-cause") == nil {
			t.Errorf("job %s: savepoint status = %v, want a completed failure", id, st)
		}
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	c := e.srv.AddCluster("c1", flinksim.ClusterOptions{})
	j := c.AddJob(flinksim.JobSpec{ID: jobA, CancelFor: 2 * time.Second, Script: flinksim.Script{{State: flinksim.Running}}})
	e.call(http.MethodPatch, "/c/c1/jobs/"+jobA+"?mode=cancel", "", http.StatusAccepted)
	if got, want := j.State(), flinksim.Cancelling; got != want {
		t.Fatalf("state = %v, want %v", got, want)
	}
	e.call(http.MethodPatch, "/c/c1/jobs/"+jobA+"?mode=cancel", "", http.StatusAccepted) // repeated: still fine
	e.clock.Advance(2 * time.Second)
	if got, want := j.State(), flinksim.Canceled; got != want {
		t.Fatalf("state = %v, want %v", got, want)
	}
	e.call(http.MethodPatch, "/c/c1/jobs/"+jobA, "", http.StatusAccepted) // mode defaults to cancel

	fin := c.AddJob(flinksim.JobSpec{Script: flinksim.Script{{State: flinksim.Finished}}})
	e.call(http.MethodPatch, "/c/c1/jobs/"+fin.ID()+"?mode=cancel", "", http.StatusConflict)
	e.call(http.MethodPatch, "/c/c1/jobs/"+jobA+"?mode=stop", "", http.StatusBadRequest)
	e.call(http.MethodPatch, "/c/c1/jobs/"+jobA+"?mode=bogus", "", http.StatusBadRequest)
	e.call(http.MethodPatch, "/c/c1/jobs/00000000000000000000000000000000?mode=cancel", "", http.StatusNotFound)
}

// TestSavepointDisposal: a completed savepoint exists until disposed; a
// second disposal of the same path fails with Flink's cause.
func TestSavepointDisposal(t *testing.T) {
	e := newEnv(t)
	runningJob(e, flinksim.JobSpec{})
	id := trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", `{"target-directory":"s3://sp"}`)
	e.clock.Advance(3 * time.Second)
	st := e.getJSON("/c/c1/jobs/"+jobA+"/savepoints/"+id, http.StatusOK)
	loc, _ := path(st, "operation", "location").(string)
	c := e.srv.Cluster("c1")
	if got := c.Savepoints(); len(got) != 1 || got[0] != loc {
		t.Fatalf("Savepoints() = %v, want [%s]", got, loc)
	}
	dispose := func() map[string]any {
		var resp struct {
			RequestID string `json:"request-id"`
		}
		if err := json.Unmarshal(e.call(http.MethodPost, "/c/c1/savepoint-disposal", `{"savepoint-path":"`+loc+`"}`, http.StatusOK), &resp); err != nil {
			t.Fatal(err)
		}
		return e.getJSON("/c/c1/savepoint-disposal/"+resp.RequestID, http.StatusOK)
	}
	first := dispose()
	if got := path(first, "status", "id"); got != "COMPLETED" || path(first, "operation", "failure-cause") != nil {
		t.Fatalf("first disposal = %v, want COMPLETED without failure", first)
	}
	if got := c.Savepoints(); len(got) != 0 {
		t.Errorf("Savepoints() after disposal = %v, want none", got)
	}
	second := dispose()
	if cause, _ := path(second, "operation", "failure-cause", "class").(string); cause != "java.io.FileNotFoundException" {
		t.Errorf("second disposal = %v, want a FileNotFoundException", second)
	}
	if got := c.Disposals(); len(got) != 2 || !strings.HasPrefix(got[0], "s3://sp/savepoint-") {
		t.Errorf("Disposals() = %v", got)
	}
}

// TestFinishedOperationsExpire: as Flink's CompletedOperationCache, a
// finished operation is forgotten after rest.async.store-duration (5
// minutes): its status is 404, and the same trigger id starts a new
// savepoint.
func TestFinishedOperationsExpire(t *testing.T) {
	e := newEnv(t)
	runningJob(e, flinksim.JobSpec{})
	const tid = "00000000000000000000000000000abc"
	body := `{"target-directory":"s3://sp","triggerId":"` + tid + `"}`
	status := "/c/c1/jobs/" + jobA + "/savepoints/" + tid
	trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", body)
	e.clock.Advance(3 * time.Second)
	if got := path(e.getJSON(status, http.StatusOK), "status", "id"); got != "COMPLETED" {
		t.Fatalf("status = %v, want COMPLETED", got)
	}
	e.clock.Advance(flinksim.DefaultAsyncStoreDuration - time.Second)
	e.getJSON(status, http.StatusOK) // still cached
	e.clock.Advance(time.Second)
	e.call(http.MethodGet, status, "", http.StatusNotFound)
	trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", body)
	e.clock.Advance(3 * time.Second)
	if got := e.srv.Cluster("c1").Savepoints(); len(got) != 2 {
		t.Fatalf("savepoints = %v, want two: the repeated trigger id started a new one", got)
	}
}

// TestSetSavepointDuration: savepoints triggered after the change take
// the new duration.
func TestSetSavepointDuration(t *testing.T) {
	e := newEnv(t)
	j := runningJob(e, flinksim.JobSpec{})
	j.SetSavepointDuration(10 * time.Second)
	id := trigger(e, "/c/c1/jobs/"+jobA+"/savepoints", `{"target-directory":"s3://sp","cancel-job":false}`)
	status := "/c/c1/jobs/" + jobA + "/savepoints/" + id
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{{9 * time.Second, "IN_PROGRESS"}, {time.Second, "COMPLETED"}} {
		e.clock.Advance(step.advance)
		if got := path(e.getJSON(status, http.StatusOK), "status", "id"); got != step.want {
			t.Fatalf("after %s more: status.id = %v, want %s", step.advance, got, step.want)
		}
	}
}
