package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) { testenv.Main(m) }

// statusT0 is the fixed clock of the status tests.
var statusT0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// statusRedis returns the URL of a fresh Redis database holding three jobs,
// with the clock of `flinkferry status` fixed at statusT0 and any running
// flinkferry dev and FLINKFERRY_REDIS_* variable kept away.
func statusRedis(t *testing.T, withJobs bool) string {
	t.Helper()
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "no-dev.json"))
	for _, k := range []string{"FLINKFERRY_REDIS_URL", "FLINKFERRY_REDIS_PASSWORD", "FLINKFERRY_TRACK_REDIS_PREFIX"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Setenv(k, v)
			os.Unsetenv(k)
		}
	}
	old := statusNow
	statusNow = func() time.Time { return statusT0 }
	t.Cleanup(func() { statusNow = old })

	r := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, DB: r.DB})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if !withJobs {
		return r.URL()
	}
	// A shard count other than the default, recorded as the track worker
	// records it: status finds the jobs through the layout record.
	s, err := jobstore.New(rdb, jobstore.Options{Shards: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveLayout(ctx); err != nil {
		t.Fatal(err)
	}
	digest := "@sha256:" + strings.Repeat("a", 64)
	deploys := []*messages.Deployed{
		{RequestID: "wc-1", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}, Mode: messages.ModeApplication,
			FlinkJobID: "0123456789abcdef0123456789abcdef", Image: "registry.example.com/ff/wordcount" + digest,
			RestEndpoint: "http://wordcount-rest.flink-jobs:8081", WebUIURL: "http://127.0.0.1:8081/flink-jobs/wordcount/",
			Time: statusT0.Add(-time.Hour)},
		{RequestID: "sess-1", Job: messages.JobRef{KubeCluster: "edge", Namespace: "analytics", ClusterID: "sessions"}, Mode: messages.ModeSessionCluster,
			Image: "registry.example.com/ff/sessions" + digest, RestEndpoint: "http://sessions-rest.analytics:8081",
			Time: statusT0.Add(-5 * time.Minute)},
		{RequestID: "bad-1", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "broken"}, Mode: messages.ModeApplication,
			FlinkJobID: "fedcba9876543210fedcba9876543210", Image: "registry.example.com/ff/broken" + digest,
			RestEndpoint: "http://broken-rest.flink-jobs:8081", Time: statusT0.Add(-2 * time.Hour)},
	}
	for _, d := range deploys {
		if _, err := s.Register(ctx, d, d.Time); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(key string, u jobstore.Update) {
		t.Helper()
		j, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		u.Key, u.ExpectVersion = key, j.Version
		res, err := s.Apply(ctx, []jobstore.Update{u})
		if err != nil || res[0].Conflict {
			t.Fatalf("Apply(%s) = %+v, %v", key, res, err)
		}
	}
	apply("/flink-jobs/wordcount", jobstore.Update{
		LastPoll: statusT0.Add(-3 * time.Second), StartTime: statusT0.Add(-(3*time.Minute + 12*time.Second)),
		Metrics:     &jobstore.Metrics{TaskManagers: 2, SlotsTotal: 4, SlotsAvailable: 1, RunningJobs: 1, FlinkVersion: "1.20.1"},
		Checkpoints: &jobstore.Checkpoints{Total: 7, Completed: 6, LastCompletedID: 6, LastCompletedAt: statusT0.Add(-42 * time.Second)},
		Transition:  &jobstore.Transition{To: messages.StateRunning, Time: statusT0.Add(-3 * time.Minute)},
	})
	apply("edge/analytics/sessions", jobstore.Update{
		Transition: &jobstore.Transition{To: messages.StateK8sInitializing, Reason: "jobmanager_pending", Message: "waiting for the JobManager Deployment", Time: statusT0.Add(-95 * time.Second)},
	})
	apply("/flink-jobs/broken", jobstore.Update{
		LastError:  "dial tcp: connection refused",
		Transition: &jobstore.Transition{To: messages.StateFailed, Reason: "job_failed", Message: "java.lang.RuntimeException: boom", Time: statusT0.Add(-30 * time.Hour)},
	})
	// Day-2 operations: a suspend in flight, a savepoint that failed.
	for key, op := range map[string]ops.Op{
		"/flink-jobs/wordcount": {RequestID: "suspend-1", Operation: messages.OpSuspend, Mode: messages.ModeApplication,
			Phase: ops.Triggered, RequestedAt: statusT0.Add(-20 * time.Second)},
		"/flink-jobs/broken": {RequestID: "sp-1", Operation: messages.OpSavepoint, Mode: messages.ModeApplication,
			Phase: ops.Done, Result: ops.Failed, RequestedAt: statusT0.Add(-31 * time.Hour),
			Reason: "savepoint_failed", Message: "java.io.IOException: bucket gone"},
	} {
		if res, err := s.RecordOp(ctx, key, op, "hash-"+op.RequestID); err != nil || res.Outcome != jobstore.OpRecorded {
			t.Fatalf("RecordOp(%s) = %+v, %v", key, res, err)
		}
	}
	return r.URL()
}

// runStatusCmd runs `flinkferry status --redis-url url args...`.
func runStatusCmd(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	return execute(t, append([]string{"status", "--redis-url", url}, args...)...)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", p, got, want)
	}
}

func TestStatusPrintsTableJSONAndYAML(t *testing.T) {
	url := statusRedis(t, true)
	for _, tc := range []struct{ name, golden string }{
		{"table", "status.table.golden"},
		{"json", "status.json.golden"},
		{"yaml", "status.yaml.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runStatusCmd(t, url, "-o", tc.name)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestStatusFilters(t *testing.T) {
	url := statusRedis(t, true)
	for _, tc := range []struct {
		name string
		args []string
		want []string // cluster ids, in order
	}{
		{"all", nil, []string{"broken", "wordcount", "sessions"}},
		{"cluster id", []string{"wordcount"}, []string{"wordcount"}},
		{"namespace", []string{"--namespace", "analytics"}, []string{"sessions"}},
		{"kube cluster", []string{"--kube-cluster", "edge"}, []string{"sessions"}},
		{"default kube cluster", []string{"--kube-cluster", "default"}, []string{"broken", "wordcount"}},
		{"state", []string{"--state", "running"}, []string{"wordcount"}},
		{"namespace and state", []string{"-n", "flink-jobs", "--state", "FAILED"}, []string{"broken"}},
		{"no match", []string{"--state", "FINISHED"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runStatusCmd(t, url, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if tc.want == nil {
				if out != "no jobs tracked yet\n" {
					t.Errorf("output = %q, want the empty line", out)
				}
				return
			}
			var got []string
			for _, l := range lines[1:] {
				if strings.HasPrefix(l, "operation on ") { // the operations in flight, under the table
					continue
				}
				got = append(got, strings.Fields(l)[2])
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ids = %v, want %v\n%s", got, tc.want, out)
			}
		})
	}
}

func TestStatusEmpty(t *testing.T) {
	url := statusRedis(t, false)
	out, err := runStatusCmd(t, url)
	if err != nil || out != "no jobs tracked yet\n" {
		t.Errorf("status on an empty Redis = %q, %v", out, err)
	}
	out, err = runStatusCmd(t, url, "-o", "json")
	if err != nil || out != "[]\n" {
		t.Errorf("status -o json on an empty Redis = %q, %v", out, err)
	}
}

func TestStatusRedisUnreachableHidesThePassword(t *testing.T) {
	statusRedis(t, false)
	port := testenv.FreePort(t)
	url := "redis://:s3cr3t-pw@127.0.0.1:" + itoaTest(port) + "/0"
	out, err := runStatusCmd(t, url)
	if err == nil {
		t.Fatalf("status against a closed port succeeded: %q", out)
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") || strings.Contains(out, "s3cr3t-pw") {
		t.Errorf("the password leaked: %v / %q", err, out)
	}
	if !strings.Contains(err.Error(), "connecting to redis at 127.0.0.1:") {
		t.Errorf("error = %v, want one naming the address", err)
	}
}

func TestStatusWatchRepeatsWithoutClearingOffTerminal(t *testing.T) {
	url := statusRedis(t, true)
	root := New()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"status", "--redis-url", url, "--watch", "wordcount"})
	ctx, cancel := context.WithTimeout(context.Background(), statusWatchInterval+time.Second)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "CLUSTER"); n != 2 {
		t.Errorf("%d tables in %s+1s, want 2:\n%s", n, statusWatchInterval, out.String())
	}
	if strings.Contains(out.String(), "\033[") {
		t.Errorf("escape sequences written to a non-terminal")
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {45 * time.Second, "45s"}, {192 * time.Second, "3m12s"},
		{2*time.Hour + 5*time.Minute + 9*time.Second, "2h5m"}, {76 * time.Hour, "3d4h"},
	} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func itoaTest(i int) string { return strconv.Itoa(i) }
