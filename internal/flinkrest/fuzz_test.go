package flinkrest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
)

// FuzzDecode answers every call of the client with the same arbitrary body
// (status 200): decoding never panics, and an error's text stays bounded
// (it reaches Redis, events and logs).
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"jobs":[{"jid":"x","state":"RUNNING","start-time":"-1","tasks":{"running":1e400}}]}`))
	f.Add([]byte(`{"counts":{"completed":-1},"latest":{"completed":{"external_path":null,"id":"1"}}}`))
	f.Add([]byte(`[{"key":"a","value":null}]`))
	f.Add([]byte(`{"status":{"id":"COMPLETED"},"operation":{"location":"s3://sp/savepoint-1"}}`))
	f.Add([]byte(`{"status":{"id":"COMPLETED"},"operation":{"failure-cause":{"class":"java.io.IOException","stack-trace":"java.io.IOException: x\nCaused by: y: z","serialized-throwable":"rO0="}}}`))
	f.Add([]byte(`{"status":{"id":"IN_PROGRESS"},"operation":null}`))
	f.Add([]byte(`{"request-id":"70331d4ca93c31ce43f8596caf3226e4"}`))

	var body atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*body.Load())
	}))
	f.Cleanup(srv.Close)
	c := flinkrest.New(flinkrest.Options{})
	const job = "a4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
	trigger := flinkrest.TriggerID("fuzz")
	f.Fuzz(func(t *testing.T, b []byte) {
		body.Store(&b)
		ctx := context.Background()
		var errs []error
		_, err := c.JobsOverview(ctx, srv.URL)
		errs = append(errs, err)
		_, err = c.Job(ctx, srv.URL, job)
		errs = append(errs, err)
		_, err = c.Checkpoints(ctx, srv.URL, job)
		errs = append(errs, err)
		_, err = c.LatestCheckpoints(ctx, srv.URL, job)
		errs = append(errs, err)
		_, err = c.CheckpointConfig(ctx, srv.URL, job)
		errs = append(errs, err)
		_, err = c.JobExceptions(ctx, srv.URL, job)
		errs = append(errs, err)
		_, err = c.Overview(ctx, srv.URL)
		errs = append(errs, err)
		_, err = c.JobManagerConfig(ctx, srv.URL)
		errs = append(errs, err)
		sp, err := c.SavepointStatus(ctx, srv.URL, job, trigger)
		errs = append(errs, err)
		if err == nil {
			checkFailure(t, sp.Failure)
			if sp.Done == (sp.Location == "" && sp.Failure == nil) || (sp.Location != "" && sp.Failure != nil) {
				t.Fatalf("SavepointStatus() = %+v: want in progress, or done with exactly one of location and failure", sp)
			}
		}
		d, err := c.DisposalStatus(ctx, srv.URL, trigger)
		errs = append(errs, err)
		if err == nil {
			checkFailure(t, d.Failure)
		}
		_, err = c.TriggerSavepoint(ctx, srv.URL, job, flinkrest.SavepointRequest{TriggerID: trigger})
		errs = append(errs, err)
		_, err = c.StopWithSavepoint(ctx, srv.URL, job, flinkrest.StopRequest{TriggerID: trigger})
		errs = append(errs, err)
		_, err = c.DisposeSavepoint(ctx, srv.URL, "s3://sp/savepoint-1")
		errs = append(errs, err)
		errs = append(errs, c.CancelJob(ctx, srv.URL, job))
		for _, err := range errs {
			if err != nil && len(err.Error()) > 16<<10 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
		}
	})
}

// checkFailure fails t when a decoded failure is larger than its bounds.
func checkFailure(t *testing.T, f *flinkrest.Failure) {
	t.Helper()
	if f != nil && (len(f.Stack) > flinkrest.MaxFailureStack+3 || len(f.Message) > flinkrest.MaxFailureMessage+3 ||
		len(f.RootCause) > flinkrest.MaxFailureMessage+3 || len(f.Class) > 1<<10) {
		t.Fatalf("failure out of bounds: class %d, message %d, root cause %d, stack %d bytes", len(f.Class), len(f.Message), len(f.RootCause), len(f.Stack))
	}
}
