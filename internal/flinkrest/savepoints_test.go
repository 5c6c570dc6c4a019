package flinkrest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
)

// recording serves the simulator through a handler that keeps every
// request body, so a test can check what the client sent where the
// simulator does not record it (the stop request's drain).
type recording struct {
	mu     sync.Mutex
	bodies map[string][]string // "METHOD /flink/path" -> bodies, in order
}

// record returns the base URL of cluster name through a recording
// handler in front of s.
func (s *sim) record(t *testing.T, name string) (string, *recording) {
	t.Helper()
	rec := &recording{bodies: map[string][]string{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		key := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/c/"+name)
		rec.bodies[key] = append(rec.bodies[key], string(b))
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		s.srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/c/" + name, rec
}

// last returns the last body sent to "METHOD /path", decoded.
func (r *recording) last(t *testing.T, key string) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	bs := r.bodies[key]
	if len(bs) == 0 {
		t.Fatalf("no request %s", key)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(bs[len(bs)-1]), &m); err != nil {
		t.Fatalf("body of %s: %v", key, err)
	}
	return m
}

// runningSpec is a job that runs until told otherwise, whose savepoints
// take d.
func runningSpec(d time.Duration) flinksim.JobSpec {
	return flinksim.JobSpec{ID: jobA, Script: flinksim.Script{{State: flinksim.Running}}, Savepoints: flinksim.SavepointSpec{Duration: d}}
}

// savepoints returns the savepoint entries of the job's checkpoint
// history.
func savepoints(t *testing.T, c *flinkrest.Client, base, jobID string) []flinkrest.Checkpoint {
	t.Helper()
	cp, err := c.Checkpoints(context.Background(), base, jobID)
	if err != nil {
		t.Fatal(err)
	}
	var out []flinkrest.Checkpoint
	for _, e := range cp.History {
		if e.IsSavepoint {
			out = append(out, e)
		}
	}
	return out
}

func TestTriggerSavepoint(t *testing.T) {
	for _, tt := range []struct {
		name      string
		req       flinkrest.SavepointRequest
		wantBody  map[string]any
		wantDir   string
		wantState messages.JobState
	}{
		{
			name:      "directory and format",
			req:       flinkrest.SavepointRequest{Directory: "s3://sp/", Format: flinkrest.FormatNative},
			wantBody:  map[string]any{"target-directory": "s3://sp/", "cancel-job": false, "formatType": "NATIVE"},
			wantDir:   "s3://sp/",
			wantState: messages.StateRunning,
		},
		{
			name:      "cluster defaults",
			wantBody:  map[string]any{"cancel-job": false},
			wantDir:   "s3://flink/savepoints/", // state.savepoints.dir
			wantState: messages.StateRunning,
		},
		{
			name:      "cancel job",
			req:       flinkrest.SavepointRequest{Directory: "s3://sp", CancelJob: true},
			wantBody:  map[string]any{"target-directory": "s3://sp", "cancel-job": true},
			wantDir:   "s3://sp/",
			wantState: messages.StateCanceled,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, flinksim.ServerOptions{})
			jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{runningSpec(5 * time.Minute)}})
			base, rec := s.record(t, "jm")
			c := newClient(flinkrest.Options{})
			ctx := context.Background()

			req := tt.req
			req.TriggerID = flinkrest.TriggerID("req-1")
			id, err := c.TriggerSavepoint(ctx, base, jobA, req)
			if err != nil {
				t.Fatal(err)
			}
			if id != req.TriggerID {
				t.Errorf("TriggerSavepoint() = %s, want the chosen trigger id %s", id, req.TriggerID)
			}
			body := rec.last(t, "POST /jobs/"+jobA+"/savepoints")
			tt.wantBody["triggerId"] = req.TriggerID
			if got, want := len(body), len(tt.wantBody); got != want {
				t.Errorf("request body = %v, want %v", body, tt.wantBody)
			}
			for k, v := range tt.wantBody {
				if body[k] != v {
					t.Errorf("request body[%s] = %v, want %v (body %v)", k, body[k], v, body)
				}
			}

			r, err := c.SavepointStatus(ctx, base, jobA, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Done || r.Location != "" || r.Failure != nil {
				t.Errorf("SavepointStatus() right after the trigger = %+v, want in progress", r)
			}
			s.clock.Advance(5*time.Minute - time.Second)
			if r, err = c.SavepointStatus(ctx, base, jobA, id); err != nil || r.Done {
				t.Errorf("SavepointStatus() before the savepoint's duration = %+v, %v; want in progress", r, err)
			}
			s.clock.Advance(time.Second)
			r, err = c.SavepointStatus(ctx, base, jobA, id)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Done || r.Failure != nil || !strings.HasPrefix(r.Location, tt.wantDir+"savepoint-") {
				t.Fatalf("SavepointStatus() after the savepoint's duration = %+v, want done at %ssavepoint-...", r, tt.wantDir)
			}
			if got := jm.Savepoints(); len(got) != 1 || got[0] != r.Location {
				t.Errorf("the simulator's savepoints = %v, want [%s]", got, r.Location)
			}
			if d, err := c.Job(ctx, base, jobA); err != nil || d.State != tt.wantState {
				t.Errorf("job after the savepoint = %v, %v; want %s", d, err, tt.wantState)
			}
		})
	}
}

// TestSavepointSameTriggerIDOnce: the same trigger id sent again (a
// redelivered request, another replica, an answer lost on the way) is one
// savepoint, before and after it completed.
func TestSavepointSameTriggerIDOnce(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{runningSpec(time.Minute)}})
	base := s.srv.ClusterURL("jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	req := flinkrest.SavepointRequest{TriggerID: flinkrest.TriggerID("req-1"), Directory: "s3://sp"}

	// The first answer is lost (cut in half after Flink accepted).
	jm.InjectFault(flinksim.Fault{Kind: flinksim.FaultTruncated, Path: "/jobs/{jobid}/savepoints", Times: 1})
	if _, err := c.TriggerSavepoint(ctx, base, jobA, req); !flinkrest.IsUnavailable(err) {
		t.Fatalf("TriggerSavepoint() with a truncated answer = %v, want unavailable", err)
	}
	for range 2 {
		if id, err := c.TriggerSavepoint(ctx, base, jobA, req); err != nil || id != req.TriggerID {
			t.Fatalf("TriggerSavepoint() again = %q, %v; want %s", id, err, req.TriggerID)
		}
	}
	s.clock.Advance(time.Minute)
	r, err := c.SavepointStatus(ctx, base, jobA, req.TriggerID)
	if err != nil || !r.Done || r.Location == "" {
		t.Fatalf("SavepointStatus() = %+v, %v; want completed", r, err)
	}
	// After completion too (Flink keeps the result for
	// rest.async.store-duration).
	if _, err := c.TriggerSavepoint(ctx, base, jobA, req); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	if sp := savepoints(t, c, base, jobA); len(sp) != 1 || sp[0].ExternalPath != r.Location {
		t.Errorf("savepoints in the checkpoint history = %+v, want one at %s", sp, r.Location)
	}
	if got := jm.Savepoints(); len(got) != 1 {
		t.Errorf("the simulator's savepoints = %v, want one", got)
	}

	// Another request id is another savepoint.
	other := req
	other.TriggerID = flinkrest.TriggerID("req-2")
	if _, err := c.TriggerSavepoint(ctx, base, jobA, other); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	if sp := savepoints(t, c, base, jobA); len(sp) != 2 {
		t.Errorf("savepoints after a second request id = %d, want 2", len(sp))
	}
}

func TestSavepointFailure(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	spec := runningSpec(10 * time.Second)
	spec.Savepoints.Fail, spec.Savepoints.FailureCause = true, "java.io.IOException: bucket s3://sp is gone"
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{spec}})
	base := s.srv.ClusterURL("jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()

	for _, stop := range []bool{false, true} {
		seed := "savepoint"
		if stop {
			seed = "stop"
		}
		var id string
		var err error
		if stop {
			id, err = c.StopWithSavepoint(ctx, base, jobA, flinkrest.StopRequest{TriggerID: flinkrest.TriggerID(seed), Drain: true})
		} else {
			id, err = c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: flinkrest.TriggerID(seed)})
		}
		if err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(10 * time.Second)
		r, err := c.SavepointStatus(ctx, base, jobA, id)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Failure
		if !r.Done || r.Location != "" || f == nil {
			t.Fatalf("%s: SavepointStatus() = %+v, want done with a failure", seed, r)
		}
		if f.Class != "java.io.IOException" || f.Message != "bucket s3://sp is gone" || f.RootCause != spec.Savepoints.FailureCause ||
			!strings.HasPrefix(f.Stack, spec.Savepoints.FailureCause+"\n\tat ") || f.Error() != spec.Savepoints.FailureCause {
			t.Errorf("%s: Failure = %+v, want Flink's class, message and stack", seed, f)
		}
		// A failed savepoint, even of a stop, leaves the job running.
		if d, err := c.Job(ctx, base, jobA); err != nil || d.State != messages.StateRunning {
			t.Errorf("%s: job after the failed savepoint = %v, %v; want RUNNING", seed, d, err)
		}
	}
	if got := jm.Savepoints(); len(got) != 0 {
		t.Errorf("the simulator's savepoints = %v, want none", got)
	}
}

// TestSavepointOfUnknownJob: Flink accepts the trigger for any job id and
// reports the missing job through the operation.
func TestSavepointOfUnknownJob(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	s.srv.AddCluster("jm", flinksim.ClusterOptions{})
	base := s.srv.ClusterURL("jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	id, err := c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: flinkrest.TriggerID("x")})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.SavepointStatus(ctx, base, jobA, id)
	if err != nil || !r.Done || r.Failure == nil || r.Failure.Class != "org.apache.flink.runtime.messages.FlinkJobNotFoundException" {
		t.Errorf("SavepointStatus() of an unknown job = %+v, %v; want FlinkJobNotFoundException", r, err)
	}
}

func TestStopWithSavepoint(t *testing.T) {
	for _, drain := range []bool{true, false} {
		s := newSim(t, flinksim.ServerOptions{})
		jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{runningSpec(30 * time.Second)}})
		base, rec := s.record(t, "jm")
		c := newClient(flinkrest.Options{})
		ctx := context.Background()

		req := flinkrest.StopRequest{TriggerID: flinkrest.TriggerID("suspend-1"), Directory: "s3://sp", Format: flinkrest.FormatCanonical, Drain: drain}
		id, err := c.StopWithSavepoint(ctx, base, jobA, req)
		if err != nil || id != req.TriggerID {
			t.Fatalf("StopWithSavepoint() = %q, %v; want %s", id, err, req.TriggerID)
		}
		// The simulator decodes drain strictly (an unknown field is a 400)
		// but does not record it: the recording handler shows it reached
		// Flink.
		body := rec.last(t, "POST /jobs/"+jobA+"/stop")
		want := map[string]any{"targetDirectory": "s3://sp", "drain": drain, "formatType": "CANONICAL", "triggerId": req.TriggerID}
		if len(body) != len(want) {
			t.Errorf("drain=%v: request body = %v, want %v", drain, body, want)
		}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("drain=%v: request body[%s] = %v, want %v", drain, k, body[k], v)
			}
		}

		if r, err := c.SavepointStatus(ctx, base, jobA, id); err != nil || r.Done {
			t.Errorf("drain=%v: SavepointStatus() = %+v, %v; want in progress", drain, r, err)
		}
		s.clock.Advance(30 * time.Second)
		r, err := c.SavepointStatus(ctx, base, jobA, id)
		if err != nil || !r.Done || r.Failure != nil || !strings.HasPrefix(r.Location, "s3://sp/savepoint-") {
			t.Fatalf("drain=%v: SavepointStatus() = %+v, %v; want done with a location", drain, r, err)
		}
		if d, err := c.Job(ctx, base, jobA); err != nil || d.State != messages.StateFinished {
			t.Errorf("drain=%v: job after stop-with-savepoint = %v, %v; want FINISHED", drain, d, err)
		}
		if sp := savepoints(t, c, base, jobA); len(sp) != 1 || sp[0].CheckpointType != "SYNC_SAVEPOINT" || sp[0].ExternalPath != r.Location {
			t.Errorf("drain=%v: savepoints in the history = %+v, want one SYNC_SAVEPOINT", drain, sp)
		}
		_ = jm
	}
}

// TestTriggerRefusals: a bad trigger id never leaves the client; Flink's
// own refusals are 400s with its reason.
func TestTriggerRefusals(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{
		Jobs:   []flinksim.JobSpec{runningSpec(time.Second)},
		Config: map[string]string{"state.savepoints.dir": ""},
	})
	base := s.srv.ClusterURL("jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()

	for _, id := range []string{"", "0123", strings.ToUpper(flinkrest.TriggerID("a")), flinkrest.TriggerID("a") + "0", strings.Repeat("g", 32)} {
		before := jm.Requests()
		_, err1 := c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: id, Directory: "s3://sp"})
		_, err2 := c.StopWithSavepoint(ctx, base, jobA, flinkrest.StopRequest{TriggerID: id, Directory: "s3://sp"})
		for _, err := range []error{err1, err2} {
			if !errors.Is(err, flinkrest.ErrInvalidTriggerID) || flinkrest.IsUnavailable(err) {
				t.Errorf("trigger id %q: error = %v, want ErrInvalidTriggerID", id, err)
			}
		}
		if n := jm.Requests() - before; n != 0 {
			t.Errorf("trigger id %q: %d requests reached Flink, want none", id, n)
		}
	}

	// No directory and no state.savepoints.dir: Flink's 400.
	_, err := c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: flinkrest.TriggerID("a")})
	var fe *flinkrest.Error
	if !flinkrest.IsBadRequest(err) || !errors.As(err, &fe) || !strings.Contains(fe.Message(0), "state.savepoints.dir") {
		t.Errorf("TriggerSavepoint() without a directory = %v, want Flink's 400", err)
	}
	// A format Flink does not know: its 400.
	_, err = c.StopWithSavepoint(ctx, base, jobA, flinkrest.StopRequest{TriggerID: flinkrest.TriggerID("a"), Directory: "s3://sp", Format: "ZIP"})
	if !flinkrest.IsBadRequest(err) {
		t.Errorf("StopWithSavepoint(format ZIP) = %v, want Flink's 400", err)
	}
	// A JobManager that cannot answer now: unavailable, try again.
	jm.InjectFault(flinksim.Fault{Kind: flinksim.FaultError, Status: 503, Times: 1})
	_, err = c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: flinkrest.TriggerID("a"), Directory: "s3://sp"})
	if !flinkrest.IsUnavailable(err) {
		t.Errorf("TriggerSavepoint() on a 503 = %v, want unavailable", err)
	}
}

func TestSavepointStatusOperationNotFound(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{Vanish: flinksim.VanishNotFound})
	s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{runningSpec(time.Second)}})
	base := s.srv.ClusterURL("jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	id := flinkrest.TriggerID("req-1")

	_, err := c.SavepointStatus(ctx, base, jobA, id)
	var fe *flinkrest.Error
	if !errors.Is(err, flinkrest.ErrOperationNotFound) || !flinkrest.IsNotFound(err) || flinkrest.IsUnavailable(err) ||
		!errors.As(err, &fe) || !strings.Contains(fe.Message(0), "Operation not found") {
		t.Errorf("SavepointStatus(unknown trigger) = %v, want ErrOperationNotFound with Flink's message", err)
	}
	if errors.Is(err, flinkrest.ErrJobTerminal) {
		t.Errorf("SavepointStatus(unknown trigger) = %v, is ErrJobTerminal", err)
	}

	// The JobManager restarts mid-savepoint: its operation cache is gone,
	// and the same trigger id triggers the savepoint again.
	if _, err := c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: id}); err != nil {
		t.Fatal(err)
	}
	s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{runningSpec(time.Second)}})
	if _, err := c.SavepointStatus(ctx, base, jobA, id); !errors.Is(err, flinkrest.ErrOperationNotFound) {
		t.Fatalf("SavepointStatus() after a JobManager restart = %v, want ErrOperationNotFound", err)
	}
	if _, err := c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: id}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	if r, err := c.SavepointStatus(ctx, base, jobA, id); err != nil || !r.Done || r.Location == "" {
		t.Errorf("SavepointStatus() after triggering again = %+v, %v; want completed", r, err)
	}

	// A proxy's 404 for a JobManager that is gone is unavailability, not
	// a lost operation.
	_, err = c.SavepointStatus(ctx, s.srv.ClusterURL("gone"), jobA, id)
	if errors.Is(err, flinkrest.ErrOperationNotFound) || !flinkrest.IsUnavailable(err) {
		t.Errorf("SavepointStatus() through a proxy 404 = %v, want unavailable", err)
	}
}

func TestCancelJob(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	const batch = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{
		runningSpec(time.Second),
		{ID: batch, Script: flinksim.Script{{State: flinksim.Running, For: 10 * time.Second}, {State: flinksim.Finished}}},
	}})
	base, rec := s.record(t, "jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	s.clock.Advance(10 * time.Second)

	if err := c.CancelJob(ctx, base, jobA); err != nil {
		t.Fatalf("CancelJob(running) = %v", err)
	}
	rec.mu.Lock()
	n := len(rec.bodies["PATCH /jobs/"+jobA])
	rec.mu.Unlock()
	if n != 1 {
		t.Errorf("PATCH /jobs/%s sent %d times, want 1", jobA, n)
	}
	if got := jm.Job(jobA).State(); got != flinksim.Cancelling {
		t.Errorf("job after CancelJob() = %s, want CANCELLING", got)
	}
	s.clock.Advance(time.Second)
	if got := jm.Job(jobA).State(); got != flinksim.Canceled {
		t.Errorf("job a second later = %s, want CANCELED", got)
	}
	// Cancelling a cancelled job again is accepted (a redelivery).
	if err := c.CancelJob(ctx, base, jobA); err != nil {
		t.Errorf("CancelJob(canceled) = %v, want nil", err)
	}

	err := c.CancelJob(ctx, base, batch)
	var fe *flinkrest.Error
	if !errors.Is(err, flinkrest.ErrJobTerminal) || !errors.As(err, &fe) || fe.StatusCode != http.StatusConflict ||
		!strings.Contains(fe.Message(0), "already reached another terminal state (FINISHED)") || flinkrest.IsUnavailable(err) || flinkrest.IsNotFound(err) {
		t.Errorf("CancelJob(finished) = %v, want ErrJobTerminal with Flink's message", err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "FINISHED") {
		t.Errorf("CancelJob(finished).Error() = %q, want Flink's first line", err.Error())
	}

	err = c.CancelJob(ctx, base, strings.Repeat("c", 32))
	if !flinkrest.IsNotFound(err) || errors.Is(err, flinkrest.ErrJobTerminal) || errors.Is(err, flinkrest.ErrOperationNotFound) || flinkrest.IsUnavailable(err) {
		t.Errorf("CancelJob(unknown) = %v, want not found", err)
	}
}

func TestDisposeSavepoint(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{runningSpec(time.Second)}})
	base, rec := s.record(t, "jm")
	c := newClient(flinkrest.Options{})
	ctx := context.Background()

	id, err := c.TriggerSavepoint(ctx, base, jobA, flinkrest.SavepointRequest{TriggerID: flinkrest.TriggerID("sp"), Directory: "s3://sp"})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	r, err := c.SavepointStatus(ctx, base, jobA, id)
	if err != nil || r.Location == "" {
		t.Fatalf("SavepointStatus() = %+v, %v", r, err)
	}

	did, err := c.DisposeSavepoint(ctx, base, r.Location)
	if err != nil {
		t.Fatal(err)
	}
	if body := rec.last(t, "POST /savepoint-disposal"); len(body) != 1 || body["savepoint-path"] != r.Location {
		t.Errorf("disposal request body = %v, want savepoint-path only", body)
	}
	d, err := c.DisposalStatus(ctx, base, did)
	if err != nil || !d.Done || d.Failure != nil {
		t.Fatalf("DisposalStatus() = %+v, %v; want done", d, err)
	}
	if got := jm.Savepoints(); len(got) != 0 {
		t.Errorf("savepoints after the disposal = %v, want none", got)
	}

	// Disposing it again: another disposal (Flink chose another id),
	// which fails as the savepoint is gone.
	did2, err := c.DisposeSavepoint(ctx, base, r.Location)
	if err != nil {
		t.Fatal(err)
	}
	if did2 == did {
		t.Errorf("second disposal id = first (%s)", did)
	}
	d, err = c.DisposalStatus(ctx, base, did2)
	if err != nil || !d.Done || d.Failure == nil {
		t.Fatalf("DisposalStatus() of the second disposal = %+v, %v; want a failure", d, err)
	}
	if f := d.Failure; f.Class != "java.io.FileNotFoundException" || !strings.Contains(f.Message, r.Location) || f.Stack == "" {
		t.Errorf("second disposal Failure = %+v, want FileNotFoundException naming %s", f, r.Location)
	}
	if got := jm.Disposals(); len(got) != 2 {
		t.Errorf("the simulator's disposals = %v, want 2", got)
	}

	_, err = c.DisposalStatus(ctx, base, flinkrest.TriggerID("never"))
	if !errors.Is(err, flinkrest.ErrOperationNotFound) || !flinkrest.IsNotFound(err) {
		t.Errorf("DisposalStatus(unknown) = %v, want ErrOperationNotFound", err)
	}
	before := jm.Requests()
	if _, err := c.DisposeSavepoint(ctx, base, " "); err == nil || jm.Requests() != before {
		t.Errorf("DisposeSavepoint(empty path) = %v, want an error and no request", err)
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestTriggerID: the same seed gives the same id in every process and
// replica; the id is what Flink accepts as a trigger id.
func TestTriggerID(t *testing.T) {
	for _, tt := range []struct{ seed, want string }{
		{"req-1", "70331d4ca93c31ce43f8596caf3226e4"}, // sha256("flinkferry/op/req-1")[:16]
		{"", "dccfba64e13bc502881c723db83dcb1c"},
	} {
		if got := flinkrest.TriggerID(tt.seed); got != tt.want {
			t.Errorf("TriggerID(%q) = %s, want %s", tt.seed, got, tt.want)
		}
	}
	seen := map[string]string{}
	for _, seed := range []string{"", "a", "b", "req-1", "req-1 ", "01J9ZQ5R0Y3V8W7X6T5S4R3Q2P", strings.Repeat("x", 10000), "é"} {
		id := flinkrest.TriggerID(seed)
		if !hex32.MatchString(id) {
			t.Errorf("TriggerID(%q) = %q, not 32 lower-case hex characters", seed, id)
		}
		if id != flinkrest.TriggerID(seed) {
			t.Errorf("TriggerID(%q) is not deterministic", seed)
		}
		if prev, ok := seen[id]; ok {
			t.Errorf("TriggerID(%q) = TriggerID(%q)", seed, prev)
		}
		seen[id] = seed
	}
}

// TestAsyncResultDecoding: operation results as other Flink versions (or
// broken proxies) may write them.
func TestAsyncResultDecoding(t *testing.T) {
	var body []byte
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(ts.Close)
	c := newClient(flinkrest.Options{})
	id := flinkrest.TriggerID("x")
	long := "java.lang.RuntimeException: " + strings.Repeat("é", 40<<10)
	nested := "java.util.concurrent.CompletionException: java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: Task local checkpoint failure.\n" +
		"\tat java.base/java.util.concurrent.CompletableFuture.encodeThrowable(CompletableFuture.java:332)\n" +
		"Caused by: java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: Task local checkpoint failure.\n" +
		"\t... 3 more\n" +
		"Caused by: org.apache.flink.runtime.checkpoint.CheckpointException: Task local checkpoint failure.\n" +
		"\tat org.apache.flink.runtime.checkpoint.PendingCheckpoint.abort(PendingCheckpoint.java:550)\n"
	for _, tt := range []struct {
		name       string
		body       string
		savepoint  *flinkrest.SavepointResult // nil: a DecodeError
		disposal   *flinkrest.DisposalResult  // nil: a DecodeError
		checkStack func(t *testing.T, f *flinkrest.Failure)
	}{
		{
			name:      "in progress",
			body:      `{"status":{"id":"IN_PROGRESS"},"operation":null}`,
			savepoint: &flinkrest.SavepointResult{}, disposal: &flinkrest.DisposalResult{},
		},
		{
			name:      "completed, lower case, extra fields",
			body:      `{"status":{"id":"completed","since":1},"operation":{"location":"s3://sp/savepoint-1","failure-cause":null,"new":[1]}}`,
			savepoint: &flinkrest.SavepointResult{Done: true, Location: "s3://sp/savepoint-1"}, disposal: &flinkrest.DisposalResult{Done: true},
		},
		{
			name:      "disposal success",
			body:      `{"status":{"id":"COMPLETED"},"operation":{}}`,
			disposal:  &flinkrest.DisposalResult{Done: true},
			savepoint: nil, // neither a location nor a failure
		},
		{
			name: "nested causes",
			body: `{"status":{"id":"COMPLETED"},"operation":{"failure-cause":{"class":"java.util.concurrent.CompletionException","stack-trace":` +
				quote(nested) + `,"serialized-throwable":"rO0ABQ=="}}}`,
			savepoint: &flinkrest.SavepointResult{Done: true, Failure: &flinkrest.Failure{
				Class:     "java.util.concurrent.CompletionException",
				Message:   "java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: Task local checkpoint failure.",
				RootCause: "org.apache.flink.runtime.checkpoint.CheckpointException: Task local checkpoint failure.",
				Stack:     strings.TrimSpace(nested),
			}},
		},
		{
			name: "failure as a string, location too",
			body: `{"status":{"id":"COMPLETED"},"operation":{"location":"s3://x","failure-cause":"java.io.IOException: gone\n\tat x"}}`,
			savepoint: &flinkrest.SavepointResult{Done: true, Failure: &flinkrest.Failure{
				Class: "java.io.IOException", Message: "gone", RootCause: "java.io.IOException: gone", Stack: "java.io.IOException: gone\n\tat x",
			}},
		},
		{
			name: "stack bounded",
			body: `{"status":{"id":"COMPLETED"},"operation":{"failure-cause":{"class":"java.lang.RuntimeException","stack-trace":` + quote(long) + `}}}`,
			checkStack: func(t *testing.T, f *flinkrest.Failure) {
				if len(f.Stack) > flinkrest.MaxFailureStack+3 || !utf8.ValidString(f.Stack) || !strings.HasPrefix(f.Stack, "java.lang.RuntimeException: éé") {
					t.Errorf("Stack of %d bytes (valid UTF-8 %v), want at most %d", len(f.Stack), utf8.ValidString(f.Stack), flinkrest.MaxFailureStack+3)
				}
				if len(f.Message) > flinkrest.MaxFailureMessage+3 || len(f.RootCause) > flinkrest.MaxFailureMessage+3 || !utf8.ValidString(f.Message) {
					t.Errorf("Message of %d bytes, RootCause of %d, want at most %d", len(f.Message), len(f.RootCause), flinkrest.MaxFailureMessage+3)
				}
			},
		},
		{name: "no status", body: `{}`},
		{name: "unknown status", body: `{"status":{"id":"QUEUED"}}`},
		{name: "not an object", body: `[]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			body = []byte(tt.body)
			mu.Unlock()
			ctx := context.Background()
			sp, err := c.SavepointStatus(ctx, ts.URL, jobA, id)
			if tt.checkStack != nil {
				if err != nil || sp.Failure == nil {
					t.Fatalf("SavepointStatus() = %+v, %v", sp, err)
				}
				tt.checkStack(t, sp.Failure)
				return
			}
			var de *flinkrest.DecodeError
			if tt.savepoint == nil {
				if !errors.As(err, &de) || !flinkrest.IsUnavailable(err) {
					t.Errorf("SavepointStatus() = %+v, %v; want a DecodeError", sp, err)
				}
			} else if err != nil || !equalSavepoint(sp, tt.savepoint) {
				t.Errorf("SavepointStatus() = %+v (failure %+v), %v; want %+v (failure %+v)", sp, failureOf(sp), err, tt.savepoint, tt.savepoint.Failure)
			}
			d, err := c.DisposalStatus(ctx, ts.URL, id)
			switch {
			case tt.disposal == nil && tt.savepoint == nil:
				if !errors.As(err, &de) {
					t.Errorf("DisposalStatus() = %+v, %v; want a DecodeError", d, err)
				}
			case tt.disposal != nil:
				if err != nil || d.Done != tt.disposal.Done || (d.Failure == nil) != (tt.disposal.Failure == nil) {
					t.Errorf("DisposalStatus() = %+v, %v; want %+v", d, err, tt.disposal)
				}
			}
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func failureOf(r *flinkrest.SavepointResult) *flinkrest.Failure {
	if r == nil {
		return nil
	}
	return r.Failure
}

func equalSavepoint(a, b *flinkrest.SavepointResult) bool {
	if a == nil || b == nil || a.Done != b.Done || a.Location != b.Location || (a.Failure == nil) != (b.Failure == nil) {
		return false
	}
	return a.Failure == nil || *a.Failure == *b.Failure
}
