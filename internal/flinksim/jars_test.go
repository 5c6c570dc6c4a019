package flinksim_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// testJar is a jar whose manifest names its entry class.
func testJar(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Manifest-Version: 1.0\r\nMain-Class: com.example.StreamingJob\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJarUploadAndRun(t *testing.T) {
	e := newEnv(t)
	c := e.srv.AddCluster("s1", flinksim.ClusterOptions{Submit: flinksim.JobSpec{Script: flinksim.Script{{State: flinksim.Running}}}})
	content := testJar(t)
	jarID := e.upload("s1", "wordcount.jar", content)

	jars := c.Jars()
	sum := sha256.Sum256(content)
	if got, want := len(jars), 1; got != want {
		t.Fatalf("Jars() = %d, want %d", got, want)
	}
	if got, want := jars[0].ID, jarID; got != want {
		t.Errorf("jar id = %q, want %q", got, want)
	}
	if got, want := jars[0].SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("jar sha256 = %s, want %s", got, want)
	}
	list := e.getJSON("/c/s1/jars", http.StatusOK)
	if got, want := path(list, "files", 0, "entry", 0, "name"), "com.example.StreamingJob"; got != want {
		t.Errorf("entry class = %v, want %v", got, want)
	}

	run := `{"entryClass":"com.example.StreamingJob","programArgsList":["--in","s3://x"],"parallelism":2,` +
		`"savepointPath":"s3://sp/savepoint-1","allowNonRestoredState":true,"jobId":"` + jobA + `",` +
		`"flinkConfiguration":{"pipeline.name":"wordcount"}}`
	var resp struct{ JobID string }
	if err := json.Unmarshal(e.call(http.MethodPost, "/c/s1/jars/"+jarID+"/run", run, http.StatusOK), &resp); err != nil {
		t.Fatal(err)
	}
	if got, want := resp.JobID, jobA; got != want {
		t.Fatalf("jobid = %q, want client-chosen %q", got, want)
	}
	sub, ok := c.Job(jobA).Submission()
	if !ok || sub.EntryClass != "com.example.StreamingJob" || len(sub.ProgramArgsList) != 2 || *sub.Parallelism != 2 {
		t.Errorf("Submission() = %+v, %v", sub, ok)
	}
	if got, want := c.Job(jobA).Name(), "wordcount"; got != want {
		t.Errorf("job name = %q, want %q", got, want)
	}

	// The same jobId again: Flink refuses it and keeps exactly one job.
	body := e.call(http.MethodPost, "/c/s1/jars/"+jarID+"/run", run, http.StatusBadRequest)
	if !strings.Contains(string(body), "DuplicateJobSubmissionException") {
		t.Errorf("duplicate run error = %s, want DuplicateJobSubmissionException", body)
	}
	if got, want := len(c.Jobs()), 1; got != want {
		t.Errorf("jobs after duplicate run = %d, want %d", got, want)
	}
	// Still refused after the job ended.
	c.Job(jobA).SetState(flinksim.Canceled)
	e.call(http.MethodPost, "/c/s1/jars/"+jarID+"/run", run, http.StatusBadRequest)

	// Without a jobId each run is a new job with a generated id.
	e.call(http.MethodPost, "/c/s1/jars/"+jarID+"/run", `{}`, http.StatusOK)
	if got, want := len(c.Jobs()), 2; got != want {
		t.Errorf("jobs = %d, want %d", got, want)
	}
}

func TestJarErrors(t *testing.T) {
	e := newEnv(t)
	e.srv.AddCluster("s1", flinksim.ClusterOptions{})
	e.srv.AddCluster("app", flinksim.ClusterOptions{Application: true})
	tests := []struct {
		name, method, path, body, contentType string
		want                                  int
	}{
		{"no file", http.MethodPost, "/c/s1/jars/upload", "", "application/json", http.StatusBadRequest},
		{"unknown jar", http.MethodPost, "/c/s1/jars/nope.jar/run", "{}", "application/json", http.StatusBadRequest},
		{"unknown field", http.MethodPost, "/c/s1/jars/nope.jar/run", `{"entry":"x"}`, "application/json", http.StatusBadRequest},
		{"application mode", http.MethodGet, "/c/app/jars", "", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(tc.method, tc.path, strings.NewReader(tc.body), tc.contentType)
			if got := rec.Code; got != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, got, rec.Body, tc.want)
			}
		})
	}
	body, ct := multipartJar(t, "jarfile", "notes.txt", []byte("hi"))
	if rec := e.do(http.MethodPost, "/c/s1/jars/upload", body, ct); rec.Code != http.StatusBadRequest {
		t.Errorf("upload of a .txt = %d, want 400", rec.Code)
	}
}

func TestOnSubmit(t *testing.T) {
	e := newEnv(t)
	e.srv.AddCluster("s1", flinksim.ClusterOptions{OnSubmit: func(req flinksim.JarRunRequest) (flinksim.JobSpec, error) {
		if req.EntryClass == "com.example.Broken" {
			return flinksim.JobSpec{}, errors.New("java.lang.ClassNotFoundException: com.example.Broken")
		}
		return flinksim.JobSpec{Script: flinksim.Script{{State: flinksim.Running, For: time.Minute}, {State: flinksim.Finished}}}, nil
	}})
	jarID := e.upload("s1", "a.jar", []byte("not really a zip"))
	e.call(http.MethodPost, "/c/s1/jars/"+jarID+"/run", `{"entryClass":"com.example.Broken"}`, http.StatusBadRequest)
	var resp struct{ JobID string }
	if err := json.Unmarshal(e.call(http.MethodPost, "/c/s1/jars/"+jarID+"/run", `{}`, http.StatusOK), &resp); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	st := e.getJSON("/c/s1/jobs/"+resp.JobID+"/status", http.StatusOK)
	if got, want := st["status"], "FINISHED"; got != want {
		t.Errorf("status = %v, want %v", got, want)
	}
}
