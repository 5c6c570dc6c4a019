package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

const (
	testDigest = "sha256:3b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a"
	testSHA    = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

// submitKafka starts a kfake cluster with the flinkferry topics and keeps
// the test away from any running flinkferry dev and FLINKFERRY_* variables.
func submitKafka(t *testing.T) (*testenv.KafkaCluster, bus.Config) {
	t.Helper()
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "no-dev.json"))
	for _, k := range []string{"FLINKFERRY_KAFKA_BROKERS", "FLINKFERRY_KAFKA_TOPIC_PREFIX"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Setenv(k, v)
			os.Unsetenv(k)
		}
	}
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	if err := bus.EnsureTopics(cfg); err != nil {
		t.Fatal(err)
	}
	return k, cfg
}

// runSubmitCmd runs `flinkferry submit args...` with stdin, returning
// stdout, stderr and the error.
func runSubmitCmd(t *testing.T, cfg bus.Config, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := New()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"submit", "--brokers", strings.Join(cfg.Brokers, ",")}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const validYAML = `
request_id: wc-1
job: {namespace: flink-jobs, cluster_id: wordcount}
mode: application
flink: {version: "1.20"}
program:
  jar: {url: "http://127.0.0.1:8989/jars/wordcount.jar"}
`

func TestSubmitRefusesAnInvalidRequestAndProducesNothing(t *testing.T) {
	k, cfg := submitKafka(t)
	tests := []struct {
		name   string
		file   string
		fields []string
	}{
		{"validation", `
request_id: "bad id!"
job: {namespace: Flink_Jobs, cluster_id: wordcount}
mode: batch
flink: {version: "1.2", parallelism: 99999}
program:
  jar: {url: "ftp://example.com/x.jar"}
`, []string{"request_id", "job.namespace", "mode", "flink.version", "flink.parallelism", "program.jar.url"}},
		{"unknown fields", `
request_id: wc-1
job: {namespace: flink-jobs, clusterId: wordcount}
mode: application
flink: {version: "1.20", paralelism: 2}
program:
  jar: {url: "http://127.0.0.1:8989/jars/wordcount.jar"}
`, []string{"job.clusterId", "flink.paralelism"}},
		{"wrong types", `
request_id: wc-1
job: {namespace: flink-jobs, cluster_id: wordcount}
mode: application
flink: {version: 1.20, parallelism: "two"}
program:
  jar: {url: "http://127.0.0.1:8989/jars/wordcount.jar"}
  args: [1]
`, []string{"flink.version", "flink.parallelism", "program.args[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "broken.yaml", tc.file)
			out, errOut, err := runSubmitCmd(t, cfg, "", "-f", path)
			var ire *InvalidRequestError
			if !errors.As(err, &ire) {
				t.Fatalf("submit error = %v, want *InvalidRequestError", err)
			}
			if got, want := len(ire.Problems), len(tc.fields); got != want {
				t.Errorf("problems = %d (%v), want %d", got, ire.Problems, want)
			}
			if !strings.Contains(errOut, path) {
				t.Errorf("stderr does not name the file %s:\n%s", path, errOut)
			}
			for _, f := range tc.fields {
				if !strings.Contains(errOut, "\n  "+f+": ") {
					t.Errorf("stderr lacks a line for %s:\n%s", f, errOut)
				}
			}
			if strings.Contains(out, "submitted") {
				t.Errorf("stdout says submitted:\n%s", out)
			}
		})
	}
	if recs := k.Consume(t, cfg.Topics().Submit, 1, time.Second); len(recs) != 0 {
		t.Errorf("submit topic holds %d records after invalid requests, want 0", len(recs))
	}
}

func TestSubmitAcceptsYAMLAndJSONFromFilesAndStdin(t *testing.T) {
	k, cfg := submitKafka(t)
	jsonReq, err := os.ReadFile("../../../messages/testdata/valid/submit-application.json")
	if err != nil {
		t.Fatal(err)
	}
	noID := strings.Replace(validYAML, "request_id: wc-1\n", "", 1)
	tests := []struct {
		name  string
		args  []string
		stdin string
		id    string // "" means generated
	}{
		{"yaml file", []string{"-f", writeFile(t, "job.yaml", validYAML)}, "", "wc-1"},
		{"json file", []string{"-f", writeFile(t, "job.json", string(jsonReq))}, "", "orders-enrichment:2025-06-01:42"},
		{"yaml stdin", []string{"-f", "-"}, strings.Replace(validYAML, "wc-1", "wc-2", 1), "wc-2"},
		{"json stdin", []string{"-f", "-"}, strings.Replace(string(jsonReq), "2025-06-01:42", "2025-06-01:43", 1), "orders-enrichment:2025-06-01:43"},
		{"generated request id", []string{"-f", "-"}, noID, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runSubmitCmd(t, cfg, tc.stdin, tc.args...)
			if err != nil {
				t.Fatalf("submit: %v\n%s%s", err, out, errOut)
			}
			if tc.id == "" {
				if !strings.Contains(out, "(generated)") || !strings.HasPrefix(out, "request_id cli-") {
					t.Errorf("stdout does not print the generated request id:\n%s", out)
				}
			} else if !strings.Contains(out, "submitted "+tc.id+":") {
				t.Errorf("stdout = %q, want it to name %s", out, tc.id)
			}
		})
	}
	recs := k.Consume(t, cfg.Topics().Submit, len(tests), 10*time.Second)
	if got, want := len(recs), len(tests); got != want {
		t.Fatalf("submit topic holds %d records, want %d", got, want)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		ev, env, err := messages.DecodeMessage(recordHeaders(r), messages.TypeSubmitRequested, r.Value)
		if err != nil {
			t.Fatalf("record on the submit topic does not decode: %v", err)
		}
		if env.Source != "flinkferry/cli" {
			t.Errorf("ce_source = %q, want flinkferry/cli", env.Source)
		}
		seen[ev.(*messages.SubmitRequested).RequestID] = true
	}
	for _, tc := range tests {
		if tc.id != "" && !seen[tc.id] {
			t.Errorf("request %s not on the submit topic", tc.id)
		}
	}
}

func recordHeaders(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

// respond plays the workers: it reads every request from the submit topic
// and produces what script returns for it to the status topic.
func respond(t *testing.T, k *testenv.KafkaCluster, cfg bus.Config, script func(*messages.SubmitRequested) []messages.Event) {
	t.Helper()
	respondOn(t, k, cfg, cfg.Topics().Submit, messages.TypeSubmitRequested, script)
}

// respondOn plays the workers: it reads every request of type typ (T)
// from topic and produces what script returns for it to the status topic,
// 50 ms apart. An event wrapped in withFields gets extra payload fields.
func respondOn[T messages.Event](t *testing.T, k *testenv.KafkaCluster, cfg bus.Config, topic, typ string, script func(T) []messages.Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cl := k.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	p := k.Client(t)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				ev, _, err := messages.DecodeMessage(recordHeaders(r), typ, r.Value)
				if err != nil {
					t.Errorf("responder: %v", err)
					return
				}
				for _, out := range script(ev.(T)) {
					time.Sleep(50 * time.Millisecond)
					rec, err := statusRecord(cfg.Topics().Status, out)
					if err == nil {
						err = p.ProduceSync(ctx, rec).FirstErr()
					}
					if err != nil && ctx.Err() == nil {
						t.Errorf("responder: %v", err)
					}
				}
			})
		}
	}()
}

// withFields is a status event with payload fields package messages does
// not define (yet), as a newer worker sends them.
type withFields struct {
	messages.Event
	fields map[string]any
}

// statusRecord encodes ev (CloudEvents binary mode, source test/responder)
// as a record of topic.
func statusRecord(topic string, ev messages.Event) (*kgo.Record, error) {
	var extra map[string]any
	if w, ok := ev.(withFields); ok {
		ev, extra = w.Event, w.fields
	}
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "test/responder"})
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		var obj map[string]any
		if err := json.Unmarshal(value, &obj); err != nil {
			return nil, err
		}
		maps.Copy(obj, extra)
		if value, err = json.Marshal(obj); err != nil {
			return nil, err
		}
	}
	rec := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for k, v := range headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return rec, nil
}

func imageBuilt(r *messages.SubmitRequested) *messages.ImageBuilt {
	return &messages.ImageBuilt{
		RequestID: r.RequestID, Job: r.Job, Mode: r.Mode,
		Image:     "127.0.0.1:5000/flinkferry/wordcount@" + testDigest,
		SizeBytes: 734003200, JarSHA256: testSHA, DurationMS: 5230,
		Time: time.Now(), Request: *r,
	}
}

func stateChanged(r *messages.SubmitRequested, from, to messages.JobState, reason, msg string) *messages.JobStatusChanged {
	e := &messages.JobStatusChanged{
		RequestID: r.RequestID, Job: r.Job, Mode: r.Mode, FlinkJobID: r.FlinkJobID(),
		From: from, To: to, Reason: reason, Message: msg, Time: time.Now(),
	}
	if to == messages.StateRunning {
		e.WebUIURL = "http://127.0.0.1:8081/flink-jobs/wordcount/"
	}
	return e
}

func TestSubmitWaitFollowsTheJobToRunning(t *testing.T) {
	k, cfg := submitKafka(t)
	// An old event of another request on the status topic must be ignored.
	old := &messages.SubmitRequested{RequestID: "old", Job: messages.JobRef{Namespace: "x", ClusterID: "old"}, Mode: messages.ModeApplication,
		Flink: messages.FlinkOptions{Version: "1.20"}, Program: &messages.Program{Jar: messages.Jar{URL: "http://h/j.jar"}}}
	p, err := bus.NewProducer(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), stateChanged(old, "", messages.StateFailed, "job_failed", "old"), cfg.Topics().Status); err != nil {
		t.Fatal(err)
	}
	p.Close()
	respond(t, k, cfg, func(r *messages.SubmitRequested) []messages.Event {
		return []messages.Event{
			imageBuilt(r),
			&messages.Deployed{RequestID: r.RequestID, Job: r.Job, Mode: r.Mode, FlinkJobID: r.FlinkJobID(),
				Image: imageBuilt(r).Image, RestEndpoint: "http://wordcount-rest.flink-jobs:8081",
				ObjectUIDs: map[string]string{"Deployment/wordcount": "u1", "ConfigMap/flink-config-wordcount": "u2", "Service/wordcount-rest": "u3"},
				Time:       time.Now()},
			stateChanged(r, "", messages.StateStarting, "", ""),
			stateChanged(r, messages.StateStarting, messages.StateRunning, "", ""),
		}
	})
	out, errOut, err := runSubmitCmd(t, cfg, "", "-f", writeFile(t, "job.yaml", validYAML), "--wait", "--timeout", "60s")
	if err != nil {
		t.Fatalf("submit --wait: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"submitted wc-1:",
		"pushed 127.0.0.1:5000/flinkferry/wordcount@sha256:3b2c4d5e6f70 (700.0 MiB, 5.23s)",
		"objects applied (3 objects), REST http://wordcount-rest.flink-jobs:8081",
		"\nSTARTING\n",
		"\nRUNNING, Web UI http://127.0.0.1:8081/flink-jobs/wordcount/\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAILED") || strings.Contains(out, "\r") {
		t.Errorf("output shows another request's event or spinner escapes:\n%s", out)
	}
}

func TestSubmitWaitFailsOnFailures(t *testing.T) {
	k, cfg := submitKafka(t)
	respond(t, k, cfg, func(r *messages.SubmitRequested) []messages.Event {
		switch r.RequestID {
		case "deploy-fails":
			return []messages.Event{imageBuilt(r), &messages.DeployFailed{RequestID: r.RequestID, Job: r.Job, Mode: r.Mode,
				Reason: messages.DeployReasonImagePullFailed, Message: "ImagePullBackOff: unauthorized", Time: time.Now()}}
		case "build-fails":
			return []messages.Event{&messages.BuildFailed{RequestID: r.RequestID, Job: r.Job, Mode: r.Mode,
				Reason: messages.BuildReasonArtifactNotFound, Message: "jar not found (404)", Time: time.Now()}}
		case "job-fails":
			return []messages.Event{stateChanged(r, "", messages.StateStarting, "", ""),
				stateChanged(r, messages.StateStarting, messages.StateFailed, "job_failed", "java.lang.RuntimeException: boom")}
		}
		return nil // "silent": the wait times out
	})
	tests := []struct {
		id, state, reason, line string
		timeout                 string
	}{
		{"deploy-fails", "DEPLOY_FAILED", "image_pull_failed", "deploy failed: image_pull_failed: ImagePullBackOff: unauthorized", "60s"},
		{"build-fails", "BUILD_FAILED", "artifact_not_found", "build failed: artifact_not_found: jar not found (404)", "60s"},
		{"job-fails", "FAILED", "job_failed", "FAILED (job_failed: java.lang.RuntimeException: boom)", "60s"},
		{"silent", "building image", "timeout", "still building image after 2s", "2s"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			req := strings.Replace(validYAML, "wc-1", tc.id, 1)
			out, _, err := runSubmitCmd(t, cfg, req, "-f", "-", "--wait", "--timeout", tc.timeout)
			var jf *JobFailedError
			if !errors.As(err, &jf) {
				t.Fatalf("submit --wait error = %v, want *JobFailedError\n%s", err, out)
			}
			if jf.State != tc.state || jf.Reason != tc.reason {
				t.Errorf("JobFailedError = %+v, want state %s reason %s", jf, tc.state, tc.reason)
			}
			if !strings.Contains(out, tc.line) {
				t.Errorf("output lacks %q:\n%s", tc.line, out)
			}
		})
	}
}

// TestExamplesAreValid loads every examples/**/*.yaml the way submit does.
func TestExamplesAreValid(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../../examples", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d examples, want at least 4", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, generated, err := LoadSubmitRequest(f, data)
			if err != nil {
				var b strings.Builder
				var ire *InvalidRequestError
				if errors.As(err, &ire) {
					printProblems(&b, ire)
				}
				t.Fatalf("%v\n%s", err, b.String())
			}
			if generated {
				t.Errorf("%s has no request_id", f)
			}
			if req.Job.Namespace != "flink-jobs" {
				t.Errorf("namespace = %q, want flink-jobs", req.Job.Namespace)
			}
			if req.Program != nil && req.Program.Jar.URL != "" && !strings.HasPrefix(req.Program.Jar.URL, "http://127.0.0.1:8989/jars/") {
				t.Errorf("jar url %q is not served by flinkferry dev", req.Program.Jar.URL)
			}
		})
	}
}

func TestSpinnerRewritesTheStageLine(t *testing.T) {
	var b syncBuffer
	s := newSpinner(&b)
	s.start("building image")
	time.Sleep(250 * time.Millisecond)
	s.done("pushed r@sha256:abc (1.0 MiB, 1s)")
	s.start("applying objects")
	s.fail("deploy failed: x: y")
	s.stop()
	out := b.String()
	for _, want := range []string{"\r\033[K", "building image", "✓ pushed r@sha256:abc (1.0 MiB, 1s) [", "✗ deploy failed: x: y ["} {
		if !strings.Contains(out, want) {
			t.Errorf("spinner output lacks %q: %q", want, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the spinner goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSubmitReportIsBounded: the request that printed 589 MB (10,000
// identical -D entries, plus 2,000 bad arguments) prints a short report.
func TestSubmitReportIsBounded(t *testing.T) {
	_, cfg := submitKafka(t)
	var b strings.Builder
	b.WriteString("request_id: big\njob: {namespace: flink-jobs, cluster_id: big}\nmode: application\nflink:\n  version: \"1.20\"\n  dynamic_options:\n")
	for range 10000 {
		b.WriteString("    - -Dpipeline.name=x\n")
	}
	b.WriteString("program:\n  jar: {url: \"http://127.0.0.1:8989/jars/wordcount.jar\"}\n  args:\n")
	for range 2000 {
		b.WriteString("    - \"a\\u0000b\"\n")
	}
	path := writeFile(t, "big.yaml", b.String())
	_, errOut, err := runSubmitCmd(t, cfg, "", "-f", path)
	var ire *InvalidRequestError
	if !errors.As(err, &ire) {
		t.Fatalf("submit error = %v, want *InvalidRequestError", err)
	}
	if n := len(errOut); n > 64<<10 {
		t.Fatalf("stderr has %d bytes, want at most 64 KiB", n)
	}
	for _, want := range []string{"flink.dynamic_options: must have at most 512 entries, got 10000", "duplicate key pipeline.name: given 512 times", "program.args: must have at most 1024 entries, got 2000", "... and "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%.2000s", want, errOut)
		}
	}
}
