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

	var body atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*body.Load())
	}))
	f.Cleanup(srv.Close)
	c := flinkrest.New(flinkrest.Options{})
	const job = "a4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
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
		for _, err := range errs {
			if err != nil && len(err.Error()) > 16<<10 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
		}
	})
}
