package flinkrest_test

import (
	"context"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/messages"
)

// serveSamples serves the hand-written answers in testdata/ by path: each
// file is what a real JobManager (of some version) could send, with
// fields the client does not know and the quirks it must survive.
func serveSamples(t *testing.T) string {
	t.Helper()
	files := map[string]string{
		"GET /overview":                             "overview.json",
		"GET /jobs/overview":                        "jobs-overview.json",
		"GET /jobs/" + jobA:                         "job.json",
		"GET /jobmanager/config":                    "jobmanager-config.json",
		"GET /jobs/" + jobA + "/checkpoints":        "checkpoints.json",
		"GET /jobs/" + jobA + "/checkpoints/config": "checkpoints-config.json",
		"GET /jobs/" + jobA + "/exceptions":         "exceptions.json",
		"POST /jars/upload":                         "jar-upload.json",
		"POST /jars/0d8b_wordcount.jar/run":         "jar-run.json",
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := files[r.Method+" "+r.URL.Path]
		if !ok {
			http.Error(w, `{"errors":["Not found: `+r.URL.Path+`"]}`, http.StatusNotFound)
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(b)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func TestDecodeSamples(t *testing.T) {
	base := serveSamples(t)
	c := newClient(flinkrest.Options{})
	ctx := context.Background()

	t.Run("overview", func(t *testing.T) {
		o, err := c.Overview(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		want := flinkrest.ClusterOverview{TaskManagers: 2, SlotsTotal: 8, SlotsAvailable: 5, JobsRunning: 1, JobsFinished: 2, JobsFailed: 1, FlinkVersion: "1.19.1", FlinkCommit: "5edb5a9"}
		if *o != want {
			t.Errorf("Overview() = %+v, want %+v (slots-available sent as a string)", *o, want)
		}
	})
	t.Run("jobs overview", func(t *testing.T) {
		jobs, err := c.JobsOverview(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 2 {
			t.Fatalf("%d jobs, want 2", len(jobs))
		}
		r, f := jobs[0], jobs[1]
		if r.ID != jobA || r.State != messages.StateRunning || !r.EndTime.IsZero() || !r.StartTime.Equal(ms(1717200000000)) ||
			r.Duration != 65*time.Second || !r.LastModification.Equal(ms(1717200002000)) || r.Tasks.Running != 4 || r.Tasks.Total != 4 {
			t.Errorf("running job = %+v", r)
		}
		if f.ID != strings.Repeat("fedcba9876543210", 2) || f.Name != `batch "nightly"` || !f.EndTime.Equal(ms(1717100600000)) || f.Tasks.Finished != 6 || f.Tasks.Total != 6 {
			t.Errorf("finished job = %+v (upper-case id and task keys must be lowered)", f)
		}
	})
	t.Run("job", func(t *testing.T) {
		d, err := c.Job(ctx, base, jobA)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != messages.StateRunning || !d.EndTime.IsZero() || !d.Now.Equal(ms(1717200065000)) || len(d.Timestamps) != 3 ||
			!d.Timestamps[messages.StateCreated].Equal(ms(1717200001000)) || d.StatusCounts.Created != 2 || d.StatusCounts.Running != 2 {
			t.Errorf("Job() = %+v", d)
		}
		if len(d.Vertices) != 2 || d.Vertices[1].StartTime != (time.Time{}) || d.Vertices[1].Duration != 0 || d.Vertices[0].Duration != 63*time.Second || d.Vertices[1].Tasks.Created != 2 {
			t.Errorf("vertices = %+v", d.Vertices)
		}
	})
	t.Run("jobmanager config", func(t *testing.T) {
		cfg, err := c.JobManagerConfig(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{
			"jobmanager.memory.process.size": "1600m", "jobmanager.memory.off-heap.size": "134217728b",
			"taskmanager.numberOfTaskSlots": "4", "web.submit.enable": "true", "state.savepoints.dir": "",
		} {
			if got, ok := cfg[k]; got != v || !ok {
				t.Errorf("config[%s] = %q (present %v), want %q", k, got, ok, v)
			}
		}
	})
	t.Run("checkpoints", func(t *testing.T) {
		cp, err := c.Checkpoints(ctx, base, jobA)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Counts != (flinkrest.CheckpointCounts{Restored: 1, Total: 5, InProgress: 1, Completed: 3, Failed: 1}) {
			t.Errorf("counts = %+v", cp.Counts)
		}
		l := cp.Latest
		if l.Savepoint != nil {
			t.Errorf("savepoint = %+v, want nil for null", l.Savepoint)
		}
		if l.Completed == nil || l.Completed.Kind != flinkrest.KindCompleted || l.Completed.ID != 4 || l.Completed.ExternalPath != "s3://flink/checkpoints/0123/chk-4" ||
			l.Completed.EndToEndDuration != 150*time.Millisecond || !l.Completed.LatestAckTime.Equal(ms(1717200040150)) || l.Completed.StateSize != 1050624 {
			t.Errorf("completed = %+v", l.Completed)
		}
		if l.Failed == nil || l.Failed.Kind != flinkrest.KindFailed || l.Failed.FailureMessage == "" || !l.Failed.FailureTime.Equal(ms(1717200031000)) {
			t.Errorf("failed = %+v", l.Failed)
		}
		if l.Restored == nil || !l.Restored.IsSavepoint || l.Restored.ExternalPath != "s3://flink/savepoints/savepoint-1" {
			t.Errorf("restored = %+v", l.Restored)
		}
		e2e := cp.Summary.EndToEndDuration
		if e2e.Max != 180 || !math.IsNaN(e2e.P50) || !math.IsInf(e2e.P95, 1) || cp.Summary.StateSize.P50 != 1049600 {
			t.Errorf("summary = %+v, want \"NaN\" and \"Infinity\" read", cp.Summary)
		}
		if len(cp.History) != 2 || cp.History[0].Kind != flinkrest.KindInProgress || cp.History[1].Kind != flinkrest.KindCompleted {
			t.Errorf("history = %+v, want in_progress by @class and completed by the spec's className", cp.History)
		}
		latest, err := c.LatestCheckpoints(ctx, base, jobA)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(latest.Counts, cp.Counts) || !reflect.DeepEqual(latest.Latest, cp.Latest) {
			t.Errorf("LatestCheckpoints() = %+v, want the counts and latest of Checkpoints() %+v", latest, cp)
		}
		if latest.History != nil || latest.Summary != (flinkrest.CheckpointSummary{}) {
			t.Errorf("LatestCheckpoints() decoded history %v or summary %+v", latest.History, latest.Summary)
		}
	})
	t.Run("checkpoint config", func(t *testing.T) {
		conf, err := c.CheckpointConfig(ctx, base, jobA)
		if err != nil {
			t.Fatal(err)
		}
		if conf.Interval != 0 || conf.Timeout != 10*time.Minute || conf.Mode != "EXACTLY_ONCE" || !conf.Externalized || conf.MaxConcurrent != 1 {
			t.Errorf("CheckpointConfig() = %+v, want interval 0 (disabled: 9223372036854775807)", conf)
		}
	})
	t.Run("exceptions", func(t *testing.T) {
		ex, err := c.JobExceptions(ctx, base, jobA)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ex.RootException, "boom") || !ex.RootTime.Equal(ms(1717200060000)) || len(ex.History) != 1 ||
			ex.History[0].TaskManagerID != "wordcount-taskmanager-1-1" || ex.History[0].Name != "java.lang.RuntimeException" {
			t.Errorf("JobExceptions() = %+v, want the history's cause when root-exception is null", ex)
		}
	})
	t.Run("jar upload and run", func(t *testing.T) {
		id, err := c.UploadJar(ctx, base, "wordcount.jar", strings.NewReader("PK"))
		if err != nil || id != "0d8b1a7c-33b6-4e55-9a61-0c6f1d7c1e2a_wordcount.jar" {
			t.Errorf("UploadJar() = %q, %v", id, err)
		}
		job, err := c.RunJar(ctx, base, "0d8b_wordcount.jar", flinkrest.RunRequest{})
		if err != nil || job != jobA {
			t.Errorf("RunJar() = %q, %v; want the id lower-cased", job, err)
		}
	})
}
