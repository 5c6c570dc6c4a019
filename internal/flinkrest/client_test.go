package flinkrest_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
)

// sim is a started simulator on a manual clock.
type sim struct {
	srv   *flinksim.Server
	clock *flinksim.ManualClock
}

func newSim(t testing.TB, opts flinksim.ServerOptions) *sim {
	t.Helper()
	clock := flinksim.NewManualClock(time.Time{})
	if opts.Clock == nil {
		opts.Clock = clock
	}
	opts.Seed = 1
	s := flinksim.New(opts)
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &sim{srv: s, clock: clock}
}

const jobA = "0123456789abcdef0123456789abcdef"

func newClient(opts flinkrest.Options) *flinkrest.Client {
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	return flinkrest.New(opts)
}

func TestOverviewAndConfig(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	s.srv.AddCluster("jm", flinksim.ClusterOptions{
		TaskManagers: 2, SlotsPerTaskManager: 3, FlinkVersion: "1.19.1",
		Jobs: []flinksim.JobSpec{{ID: jobA, Parallelism: 2, Script: flinksim.Script{{State: flinksim.Running}}}},
	})
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	base := s.srv.ClusterURL("jm")

	o, err := c.Overview(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	want := flinkrest.ClusterOverview{TaskManagers: 2, SlotsTotal: 6, SlotsAvailable: 4, JobsRunning: 1, FlinkVersion: "1.19.1", FlinkCommit: "5edb5a9"}
	if *o != want {
		t.Errorf("Overview() = %+v, want %+v", *o, want)
	}

	// A trailing slash on the base URL changes nothing.
	cfg, err := c.JobManagerConfig(ctx, base+"/")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"jobmanager.memory.process.size":  "1600m",
		"jobmanager.memory.off-heap.size": "134217728b",
		"taskmanager.numberOfTaskSlots":   "3",
		"kubernetes.cluster-id":           "jm",
	} {
		if got := cfg[k]; got != v {
			t.Errorf("JobManagerConfig()[%s] = %q, want %q", k, got, v)
		}
	}
}

func TestJobsOverviewAndJob(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	start := s.clock.Now()
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{
		{ID: jobA, Name: "wordcount", Parallelism: 2, Vertices: 3},
		{ID: strings.Repeat("b", 32), Name: "batch", Script: flinksim.Script{{State: flinksim.Running, For: 10 * time.Second}, {State: flinksim.Finished}}},
	}})
	s.clock.Advance(30 * time.Second)
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	base := s.srv.ClusterURL("jm")

	jobs, err := c.JobsOverview(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("JobsOverview() = %d jobs, want 2", len(jobs))
	}
	run, fin := jobs[0], jobs[1]
	if run.ID != jobA || run.Name != "wordcount" || run.State != messages.StateRunning {
		t.Errorf("running job = %+v", run)
	}
	if !run.StartTime.Equal(start) || !run.EndTime.IsZero() || run.Duration != 30*time.Second {
		t.Errorf("running job times: start %v end %v duration %v; want start %v, no end (end-time -1), 30s", run.StartTime, run.EndTime, run.Duration, start)
	}
	if got, want := run.Tasks.Running, 6; got != want || run.Tasks.Total != 6 {
		t.Errorf("running job tasks = %v, want running=total=%d", run.Tasks, want)
	}
	if fin.State != messages.StateFinished || !fin.State.IsGloballyTerminal() || !fin.EndTime.Equal(start.Add(10*time.Second)) || fin.Duration != 10*time.Second {
		t.Errorf("finished job = %+v, want FINISHED ending at start+10s", fin)
	}

	d, err := c.Job(ctx, base, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != jobA || d.State != messages.StateRunning || !d.EndTime.IsZero() || !d.Now.Equal(s.clock.Now()) || d.MaxParallelism != -1 {
		t.Errorf("Job() = %+v", d)
	}
	if got, want := d.Timestamps[messages.StateRunning], start.Add(2*time.Second); !got.Equal(want) {
		t.Errorf("Job().Timestamps[RUNNING] = %v, want %v", got, want)
	}
	if _, ok := d.Timestamps[messages.StateFailed]; ok {
		t.Error("Job().Timestamps has FAILED, a state never entered (Flink writes 0)")
	}
	if got := d.StatusCounts.Running; got != 6 {
		t.Errorf("Job().StatusCounts = %v, want running=6 under a lower-case key", d.StatusCounts)
	}
	if len(d.Vertices) != 3 || d.Vertices[0].Parallelism != 2 || d.Vertices[0].Tasks.Running != 2 || d.Vertices[0].EndTime != (time.Time{}) {
		t.Errorf("Job().Vertices = %+v", d.Vertices)
	}

	_, err = c.Job(ctx, base, strings.Repeat("c", 32))
	if !flinkrest.IsNotFound(err) || flinkrest.IsUnavailable(err) {
		t.Errorf("Job(unknown) error = %v, want not found", err)
	}
	var fe *flinkrest.Error
	if !errors.As(err, &fe) || len(fe.Errors) != 1 || !strings.Contains(fe.Errors[0], "not found") {
		t.Errorf("Job(unknown) error = %#v, want Flink's errors", err)
	}
	if _, err := c.Job(ctx, base, "not-a-job-id"); flinkrest.StatusCode(err) != 400 || !flinkrest.IsBadRequest(err) {
		t.Errorf("Job(bad id) error = %v, want 400", err)
	}
	_ = jm
}

func TestCheckpoints(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{
		ID: jobA, Script: flinksim.Script{{State: flinksim.Running}}, RestoredFrom: "s3://savepoints/savepoint-1",
		Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second, FailEvery: 3, FailureMessage: "Checkpoint expired before completing."},
	}}})
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	base := s.srv.ClusterURL("jm")

	cp, err := c.Checkpoints(ctx, base, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Latest.Completed != nil || cp.Latest.Failed != nil || cp.Latest.Savepoint != nil {
		t.Errorf("before any checkpoint: latest = %+v, want null entries as nil", cp.Latest)
	}
	if r := cp.Latest.Restored; r == nil || r.ExternalPath != "s3://savepoints/savepoint-1" || cp.Counts.Restored != 1 {
		t.Errorf("restored = %+v (count %d), want the savepoint", r, cp.Counts.Restored)
	}
	if p := cp.Summary.EndToEndDuration.P99; !math.IsNaN(p) {
		t.Errorf("p99 before any checkpoint = %v, want NaN (Flink's \"NaN\")", p)
	}

	s.clock.Advance(45 * time.Second)
	cp, err = c.Checkpoints(ctx, base, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Counts.Completed < 2 || cp.Counts.Failed < 1 {
		t.Fatalf("counts = %+v, want completed and failed checkpoints", cp.Counts)
	}
	done, failed := cp.Latest.Completed, cp.Latest.Failed
	if done == nil || done.Kind != flinkrest.KindCompleted || done.Status != "COMPLETED" || done.ExternalPath == "" || done.StateSize == 0 || done.TriggerTime.IsZero() {
		t.Errorf("latest completed = %+v", done)
	}
	if failed == nil || failed.Kind != flinkrest.KindFailed || failed.FailureMessage != "Checkpoint expired before completing." || failed.FailureTime.IsZero() {
		t.Errorf("latest failed = %+v", failed)
	}
	if math.IsNaN(cp.Summary.StateSize.P50) || cp.Summary.StateSize.Max == 0 {
		t.Errorf("state size summary = %+v, want numbers", cp.Summary.StateSize)
	}
	if len(cp.History) == 0 {
		t.Error("no history")
	}

	conf, err := c.CheckpointConfig(ctx, base, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if conf.Interval != 10*time.Second || conf.Mode != "EXACTLY_ONCE" {
		t.Errorf("CheckpointConfig() = %+v, want 10s EXACTLY_ONCE", conf)
	}
	jm.AddJob(flinksim.JobSpec{ID: strings.Repeat("d", 32)})
	if conf, err = c.CheckpointConfig(ctx, base, strings.Repeat("d", 32)); err != nil || conf.Interval != 0 {
		t.Errorf("CheckpointConfig(no checkpointing) = %+v, %v; want interval 0 for Flink's 9223372036854775807", conf, err)
	}
}

func TestJobExceptions(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	jm := s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA, Script: flinksim.Script{{State: flinksim.Running}}}}})
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	base := s.srv.ClusterURL("jm")

	ex, err := c.JobExceptions(ctx, base, jobA)
	if err != nil || ex.RootException != "" || len(ex.History) != 0 {
		t.Fatalf("JobExceptions() before a failure = %+v, %v; want none (Flink's null root-exception)", ex, err)
	}
	s.clock.Advance(time.Second)
	jm.Job(jobA).Fail("java.lang.IllegalStateException: boom")
	ex, err = c.JobExceptions(ctx, base, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ex.RootException, "boom") || ex.RootTime.IsZero() || len(ex.History) == 0 || !strings.Contains(ex.History[0].Stacktrace, "boom") {
		t.Errorf("JobExceptions() = %+v, want the failure's root cause", ex)
	}
}

// testJar returns a zip file with a manifest naming mainClass.
func testJar(t testing.TB, mainClass string, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, "Manifest-Version: 1.0\r\nMain-Class: "+mainClass+"\r\n")
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "org/example/Payload.class", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(bytes.Repeat([]byte{0xca, 0xfe, 0xba, 0xbe}, size/4))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestUploadAndRunJar(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	jm := s.srv.AddCluster("session", flinksim.ClusterOptions{})
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	base := s.srv.ClusterURL("session")
	jar := testJar(t, "org.example.WordCount", 256<<10)

	for _, tt := range []struct {
		name string
		r    io.Reader
	}{
		{"content-length", bytes.NewReader(jar)},
		{"sized", flinkrest.Sized(io.MultiReader(bytes.NewReader(jar)), int64(len(jar)))},
		{"chunked", io.MultiReader(bytes.NewReader(jar))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.UploadJar(ctx, base, "wordcount.jar", tt.r)
			if err != nil {
				t.Fatal(err)
			}
			var got *flinksim.Jar
			for _, j := range jm.Jars() {
				if j.ID == id {
					got = &j
				}
			}
			if got == nil || got.Name != "wordcount.jar" || got.SHA256 != sha(jar) || got.EntryClass != "org.example.WordCount" || !strings.HasSuffix(id, "_wordcount.jar") {
				t.Errorf("uploaded jar %q = %+v, want wordcount.jar with the same bytes", id, got)
			}
		})
	}

	jarID, err := c.UploadJar(ctx, base, "wordcount.jar", bytes.NewReader(jar))
	if err != nil {
		t.Fatal(err)
	}
	req := flinkrest.RunRequest{
		EntryClass: "org.example.WordCount", ProgramArgsList: []string{"--input", "s3://in", "a b"}, Parallelism: 3, JobID: jobA,
		SavepointPath: "s3://savepoints/sp-1", AllowNonRestoredState: true, RestoreMode: "CLAIM",
		FlinkConfiguration: map[string]string{"pipeline.name": "wordcount", "execution.checkpointing.interval": "10s"},
	}
	got, err := c.RunJar(ctx, base, jarID, req)
	if err != nil {
		t.Fatal(err)
	}
	if got != jobA {
		t.Errorf("RunJar() = %s, want the chosen id %s", got, jobA)
	}
	sub, ok := jm.Job(jobA).Submission()
	if !ok || sub.EntryClass != req.EntryClass || strings.Join(sub.ProgramArgsList, "|") != "--input|s3://in|a b" || sub.Parallelism == nil || *sub.Parallelism != 3 ||
		sub.SavepointPath != req.SavepointPath || sub.AllowNonRestoredState == nil || !*sub.AllowNonRestoredState || sub.RestoreMode != "CLAIM" ||
		sub.FlinkConfiguration["execution.checkpointing.interval"] != "10s" || sub.JarID != jarID {
		t.Errorf("the simulator received %+v", sub)
	}
	if j, err := c.Job(ctx, base, jobA); err != nil || j.Name != "wordcount" {
		t.Errorf("Job() after run = %+v, %v", j, err)
	}

	// Running the same job id again is Flink's 400, and one job remains.
	_, err = c.RunJar(ctx, base, jarID, req)
	var fe *flinkrest.Error
	if !flinkrest.IsBadRequest(err) || !errors.As(err, &fe) || !strings.Contains(fe.Message(0), "DuplicateJobSubmissionException") {
		t.Errorf("second RunJar() error = %v, want 400 DuplicateJobSubmissionException", err)
	}
	if n := len(jm.Jobs()); n != 1 {
		t.Errorf("jobs after a duplicate run = %d, want 1", n)
	}

	// A jar the cluster does not have.
	if _, err := c.RunJar(ctx, base, "missing_x.jar", flinkrest.RunRequest{}); !flinkrest.IsBadRequest(err) {
		t.Errorf("RunJar(missing jar) error = %v, want 400", err)
	}
	// A file that is not a jar.
	if _, err := c.UploadJar(ctx, base, "notes.txt", strings.NewReader("hello")); !flinkrest.IsBadRequest(err) {
		t.Errorf("UploadJar(notes.txt) error = %v, want 400", err)
	}
	// An application cluster has no jar endpoints (404 from Flink).
	s.srv.AddCluster("app", flinksim.ClusterOptions{Application: true})
	if _, err := c.UploadJar(ctx, s.srv.ClusterURL("app"), "wordcount.jar", bytes.NewReader(jar)); !flinkrest.IsNotFound(err) {
		t.Errorf("UploadJar(application cluster) error = %v, want not found", err)
	}
}

// TestRunFailureCarriesFlinksReason: a main method that fails is a 400
// whose errors hold the cause.
func TestRunFailureCarriesFlinksReason(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{})
	s.srv.AddCluster("session", flinksim.ClusterOptions{OnSubmit: func(req flinksim.JarRunRequest) (flinksim.JobSpec, error) {
		return flinksim.JobSpec{}, errors.New("java.lang.ClassNotFoundException: " + req.EntryClass)
	}})
	c := newClient(flinkrest.Options{})
	ctx := context.Background()
	base := s.srv.ClusterURL("session")
	jarID, err := c.UploadJar(ctx, base, "wordcount.jar", bytes.NewReader(testJar(t, "org.example.WordCount", 16)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RunJar(ctx, base, jarID, flinkrest.RunRequest{EntryClass: "org.example.Missing", JobID: jobA})
	var fe *flinkrest.Error
	if !errors.As(err, &fe) || fe.StatusCode != 400 || !strings.Contains(fe.Message(0), "ClassNotFoundException: org.example.Missing") {
		t.Fatalf("RunJar() error = %v, want 400 with the ClassNotFoundException", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Error() = %q, want one line", err.Error())
	}
	if got := fe.Message(40); len(got) > 43 {
		t.Errorf("Message(40) = %q, longer than 40 bytes", got)
	}
}

// TestBasePathPrefix: the base URL may carry a path prefix and a host
// routing; both reach the same cluster.
func TestBasePathPrefix(t *testing.T) {
	s := newSim(t, flinksim.ServerOptions{Default: "jm"})
	s.srv.AddCluster("jm", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA}}})
	c := newClient(flinkrest.Options{})
	for _, base := range []string{s.srv.URL(), s.srv.URL() + "/", s.srv.ClusterURL("jm")} {
		jobs, err := c.JobsOverview(context.Background(), base)
		if err != nil || len(jobs) != 1 || jobs[0].ID != jobA {
			t.Errorf("JobsOverview(%s) = %v, %v", base, jobs, err)
		}
	}
}
