package cli

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// noRedis is a Redis URL nothing listens on.
const noRedis = "redis://127.0.0.1:1/0"

// runCLI runs `flinkferry args... --brokers <the test cluster>`,
// returning stdout, stderr and the error.
func runCLI(t *testing.T, cfg bus.Config, args ...string) (string, string, error) {
	t.Helper()
	root := New()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--brokers", strings.Join(cfg.Brokers, ",")))
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// controlRecords reads the control topic: it expects n records and fails
// when there are more (it waits 3 s for one more).
func controlRecords(t *testing.T, k *testenv.KafkaCluster, cfg bus.Config, n int) map[string]*messages.ControlRequested {
	t.Helper()
	recs := k.Consume(t, cfg.Topics().Control, n+1, 3*time.Second)
	if got, want := len(recs), n; got != want {
		t.Fatalf("control topic holds %d records, want %d", got, want)
	}
	byID := map[string]*messages.ControlRequested{}
	for _, r := range recs {
		if got, want := testenv.Header(r, messages.HeaderType), messages.TypeControlRequested; got != want {
			t.Errorf("ce_type = %q, want %q", got, want)
		}
		ev, env, err := messages.DecodeMessage(recordHeaders(r), messages.TypeControlRequested, r.Value)
		if err != nil {
			t.Fatalf("record on the control topic does not decode: %v", err)
		}
		req := ev.(*messages.ControlRequested)
		if got, want := string(r.Key), req.JobKey(); got != want {
			t.Errorf("record key = %q, want the job key %q", got, want)
		}
		if env.Source != "flinkferry/cli" {
			t.Errorf("ce_source = %q, want flinkferry/cli", env.Source)
		}
		byID[req.RequestID] = req
	}
	return byID
}

func TestControlCommandsProduceOneRequestEach(t *testing.T) {
	k, cfg := submitKafka(t)
	job := messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}
	eu := messages.JobRef{KubeCluster: "eu-west-1", Namespace: "flink-jobs", ClusterID: "wordcount"}
	named := []string{"-n", "flink-jobs", "--kube-cluster", "default"}
	tests := []struct {
		args []string
		want messages.ControlRequested
	}{
		{[]string{"cancel", "wordcount", "--request-id", "c-1"},
			messages.ControlRequested{RequestID: "c-1", Job: job, Operation: messages.OpCancel}},
		{[]string{"suspend", "wordcount", "--request-id", "s-1", "--kube-cluster", "eu-west-1", "--dir", "s3://state/wc/savepoints", "--format", "native", "--drain", "--timeout-seconds", "600"},
			messages.ControlRequested{RequestID: "s-1", Job: eu, Operation: messages.OpSuspend, TimeoutSeconds: 600,
				Savepoint: &messages.SavepointOptions{Directory: "s3://state/wc/savepoints", Format: messages.FormatNative, Drain: true}}},
		{[]string{"suspend", "wordcount", "--request-id", "s-2"},
			messages.ControlRequested{RequestID: "s-2", Job: job, Operation: messages.OpSuspend}},
		{[]string{"resume", "wordcount", "--request-id", "r-1"},
			messages.ControlRequested{RequestID: "r-1", Job: job, Operation: messages.OpResume}},
		{[]string{"resume", "wordcount", "--request-id", "r-2", "--from", "checkpoint"},
			messages.ControlRequested{RequestID: "r-2", Job: job, Operation: messages.OpResume, Restore: &messages.RestoreOptions{From: messages.RestoreFromCheckpoint}}},
		{[]string{"resume", "wordcount", "--request-id", "r-3", "--from", "s3://state/wc/savepoints/savepoint-1a2b3c"},
			messages.ControlRequested{RequestID: "r-3", Job: job, Operation: messages.OpResume,
				Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: "s3://state/wc/savepoints/savepoint-1a2b3c"}}},
		{[]string{"savepoint", "wordcount", "--request-id", "sp-1", "--format", "canonical", "--timeout-seconds", "60"},
			messages.ControlRequested{RequestID: "sp-1", Job: job, Operation: messages.OpSavepoint, TimeoutSeconds: 60,
				Savepoint: &messages.SavepointOptions{Format: messages.FormatCanonical}}},
		{[]string{"delete", "wordcount", "--request-id", "d-1", "--force"},
			messages.ControlRequested{RequestID: "d-1", Job: job, Operation: messages.OpDelete, Force: true}},
		{[]string{"dispose", "wordcount", "s3://state/wc/savepoints/savepoint-1a2b3c", "--request-id", "x-1"},
			messages.ControlRequested{RequestID: "x-1", Job: job, Operation: messages.OpDispose, SavepointPath: "s3://state/wc/savepoints/savepoint-1a2b3c"}},
		{[]string{"restart", "wordcount", "--request-id", "rs-1"},
			messages.ControlRequested{RequestID: "rs-1", Job: job, Operation: messages.OpRestart}},
		{[]string{"restart", "wordcount", "--request-id", "rs-2", "--from", "checkpoint", "--allow-non-restored-state", "--restore-mode", "claim"},
			messages.ControlRequested{RequestID: "rs-2", Job: job, Operation: messages.OpRestart,
				Restore: &messages.RestoreOptions{From: messages.RestoreFromCheckpoint, AllowNonRestoredState: true, RestoreMode: messages.RestoreClaim}}},
		{[]string{"restart", "wordcount", "--request-id", "rs-3", "--from", "s3://state/wc/savepoints/savepoint-1a2b3c", "--restore-mode", "NO_CLAIM"},
			messages.ControlRequested{RequestID: "rs-3", Job: job, Operation: messages.OpRestart,
				Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: "s3://state/wc/savepoints/savepoint-1a2b3c", RestoreMode: messages.RestoreNoClaim}}},
		{[]string{"restart", "wordcount", "--request-id", "rs-4", "--allow-non-restored-state"},
			messages.ControlRequested{RequestID: "rs-4", Job: job, Operation: messages.OpRestart,
				Restore: &messages.RestoreOptions{AllowNonRestoredState: true}}},
		{[]string{"restart", "wordcount", "--request-id", "rs-5", "--from", "none"},
			messages.ControlRequested{RequestID: "rs-5", Job: job, Operation: messages.OpRestart, Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:2], " ")+" "+tc.want.RequestID, func(t *testing.T) {
			args := tc.args
			if !strings.Contains(strings.Join(args, " "), "--kube-cluster") {
				args = append(args, named...)
			} else {
				args = append(args, "-n", "flink-jobs")
			}
			out, errOut, err := runCLI(t, cfg, args...)
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out, errOut)
			}
			line := "sent " + tc.want.RequestID + ": " + string(tc.want.Operation) + " " + tc.want.JobKey() + " to flinkferry.control\n"
			if out != line {
				t.Errorf("stdout = %q, want %q", out, line)
			}
		})
	}
	// A request id of its own is generated and printed.
	out, errOut, err := runCLI(t, cfg, append([]string{"cancel", "wordcount"}, named...)...)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(out, "request_id "), " ")
	if !strings.HasPrefix(out, "request_id cli-") || !strings.Contains(out, "(generated)\nsent "+id+": cancel /flink-jobs/wordcount") {
		t.Errorf("stdout does not print the generated request id:\n%s", out)
	}

	got := controlRecords(t, k, cfg, len(tests)+1)
	for _, tc := range tests {
		if r := got[tc.want.RequestID]; r == nil || !reflect.DeepEqual(*r, tc.want) {
			t.Errorf("request %s on the control topic = %+v, want %+v", tc.want.RequestID, r, tc.want)
		}
	}
	if r := got[id]; r == nil || r.Operation != messages.OpCancel {
		t.Errorf("generated request %s on the control topic = %+v", id, r)
	}
}

func TestControlRefusesBadCombinationsAndProducesNothing(t *testing.T) {
	k, cfg := submitKafka(t)
	tests := []struct {
		name   string
		args   []string
		fields []string
	}{
		{"drain with savepoint", []string{"savepoint", "wordcount", "--drain"}, []string{"savepoint.drain"}},
		{"empty --from path", []string{"resume", "wordcount", "--from="}, []string{"restore.path"}},
		{"dispose without a path", []string{"dispose", "wordcount"}, []string{"savepoint_path"}},
		{"bad id, format and timeout", []string{"suspend", "Word_Count", "--format", "fast", "--timeout-seconds", "90000", "--request-id", "no spaces"},
			[]string{"request_id", "job.cluster_id", "savepoint.format", "timeout_seconds"}},
		{"relative savepoint dir", []string{"suspend", "wordcount", "--dir", "savepoints/"}, []string{"savepoint.directory"}},
		{"restart: restore options without state", []string{"restart", "wordcount", "--from", "none", "--restore-mode", "CLAIM"}, []string{"restore"}},
		{"restart: unknown restore mode", []string{"restart", "wordcount", "--restore-mode", "steal"}, []string{"restore.restore_mode"}},
		{"restart: empty path and a bad request id", []string{"restart", "wordcount", "--from=", "--request-id", "a b"}, []string{"request_id", "restore.path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No --namespace and no Redis: the flags are judged before
			// the job is looked up.
			out, errOut, err := runCLI(t, cfg, append(tc.args, "--redis-url", noRedis)...)
			var ire *InvalidRequestError
			if !errors.As(err, &ire) {
				t.Fatalf("error = %v, want *InvalidRequestError\n%s", err, errOut)
			}
			if got, want := len(ire.Problems), len(tc.fields); got != want {
				t.Errorf("problems = %d (%v), want %d", got, ire.Problems, want)
			}
			if !strings.HasPrefix(errOut, tc.args[0]+" "+tc.args[1]+": invalid control request (") {
				t.Errorf("stderr does not name the command:\n%s", errOut)
			}
			for _, f := range tc.fields {
				if !strings.Contains(errOut, "\n  "+f+": ") {
					t.Errorf("stderr lacks a line for %s:\n%s", f, errOut)
				}
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
	controlRecords(t, k, cfg, 0)
}

// trackJob registers one more job in the Redis database at url.
func trackJob(t *testing.T, url string, d *messages.Deployed) {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	s, err := jobstore.Open(context.Background(), rdb, jobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(context.Background(), d, d.Time); err != nil {
		t.Fatal(err)
	}
}

func TestControlFindsTheJobByClusterID(t *testing.T) {
	k, cfg := submitKafka(t)
	url := statusRedis(t, true) // /flink-jobs/wordcount, edge/analytics/sessions, /flink-jobs/broken
	trackJob(t, url, &messages.Deployed{RequestID: "wc-staging", Job: messages.JobRef{Namespace: "staging", ClusterID: "wordcount"},
		Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
		Image: "registry.example.com/ff/wordcount@sha256:" + strings.Repeat("b", 64), RestEndpoint: "http://wordcount-rest.staging:8081", Time: statusT0})
	tests := []struct {
		name    string
		args    []string
		key     string // "" when nothing is sent
		problem string // in the error, or a warning on stderr when key is set
	}{
		// A later --redis-url wins over the test's.
		{"unique", []string{"sessions"}, "edge/analytics/sessions", ""},
		{"ambiguous", []string{"wordcount"}, "", "cluster id wordcount is ambiguous, 2 tracked jobs have it (/flink-jobs/wordcount, /staging/wordcount): choose one with --namespace and --kube-cluster"},
		{"by namespace", []string{"wordcount", "-n", "staging"}, "/staging/wordcount", ""},
		{"default kube cluster only", []string{"sessions", "--kube-cluster", "default"}, "", "no tracked job has cluster id sessions in Kubernetes cluster default"},
		{"by kube cluster", []string{"sessions", "--kube-cluster", "edge"}, "edge/analytics/sessions", ""},
		{"unknown", []string{"gone"}, "", "no tracked job has cluster id gone (--namespace names a job that is not tracked)"},
		{"untracked with namespace", []string{"gone", "-n", "flink-jobs"}, "/flink-jobs/gone", "warning: the track worker does not track /flink-jobs/gone"},
		{"no redis", []string{"wordcount", "--redis-url", noRedis}, "", "--namespace, and --kube-cluster unless the job runs in the workers' default one, name the job without Redis"},
		{"no redis with namespace", []string{"broken", "-n", "flink-jobs", "--redis-url", noRedis}, "/flink-jobs/broken", "warning: cannot read the tracked jobs"},
		{"no redis needed", []string{"broken", "-n", "flink-jobs", "--kube-cluster", "default", "--redis-url", noRedis}, "/flink-jobs/broken", ""},
	}
	want := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, cfg, append([]string{"cancel", "--request-id", strings.ReplaceAll(tc.name, " ", "-"), "--redis-url", url}, tc.args...)...)
			if tc.key == "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("error = %v, want one saying %q", err, tc.problem)
				}
				if strings.Contains(out, "sent") {
					t.Errorf("stdout says sent:\n%s", out)
				}
				return
			}
			want++
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out, errOut)
			}
			if !strings.Contains(out, ": cancel "+tc.key+" to ") {
				t.Errorf("stdout = %q, want it to name %s", out, tc.key)
			}
			if (tc.problem == "") != (errOut == "") || !strings.Contains(errOut, tc.problem) {
				t.Errorf("stderr = %q, want %q", errOut, tc.problem)
			}
		})
	}
	got := controlRecords(t, k, cfg, want)
	for _, tc := range tests {
		if tc.key == "" {
			continue
		}
		if r := got[strings.ReplaceAll(tc.name, " ", "-")]; r == nil || r.JobKey() != tc.key {
			t.Errorf("request %s on the control topic = %+v, want job %s", tc.name, r, tc.key)
		}
	}
}
