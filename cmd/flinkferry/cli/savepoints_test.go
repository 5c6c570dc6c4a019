package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// savepointsRedis is statusRedis with a savepoint history for
// /flink-jobs/wordcount, added oldest first.
func savepointsRedis(t *testing.T) string {
	t.Helper()
	url := statusRedis(t, true)
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
	const dir = "s3://flink-state/wordcount/savepoints/"
	for _, e := range []jobstore.SavepointEntry{
		{Path: dir + "savepoint-0123ab-111111111111", Time: statusT0.Add(-26 * time.Hour), Trigger: jobstore.TriggerPeriodic,
			Format: messages.FormatCanonical, Result: ops.Completed},
		{Time: statusT0.Add(-2 * time.Hour), Trigger: jobstore.TriggerManual, Result: ops.Failed, RequestID: "sp-1"},
		{Path: dir + "savepoint-0123ab-222222222222", Time: statusT0.Add(-90 * time.Minute), Trigger: jobstore.TriggerManual,
			Format: messages.FormatNative, Result: ops.Completed, RequestID: "sp-2"},
		{Path: dir + "savepoint-0123ab-333333333333", Time: statusT0.Add(-time.Minute), Trigger: jobstore.TriggerSuspend,
			Format: messages.FormatCanonical, Result: ops.Completed, RequestID: "suspend-1"},
	} {
		if added, err := s.AddSavepoint(context.Background(), "/flink-jobs/wordcount", e); err != nil || !added {
			t.Fatalf("AddSavepoint(%+v) = %v, %v", e, added, err)
		}
	}
	return url
}

// runSavepointsCmd runs `flinkferry savepoints --redis-url url args...`.
func runSavepointsCmd(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	return execute(t, append([]string{"savepoints", "--redis-url", url}, args...)...)
}

func TestSavepointsPrintsTheHistoryNewestFirst(t *testing.T) {
	url := savepointsRedis(t)
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{"table", []string{"wordcount"}, "savepoints.table.golden"},
		{"json", []string{"wordcount", "-o", "json"}, "savepoints.json.golden"},
		{"yaml", []string{"wordcount", "-o", "yaml"}, "savepoints.yaml.golden"},
		{"by namespace and kube cluster", []string{"wordcount", "-n", "flink-jobs", "--kube-cluster", "default"}, "savepoints.table.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSavepointsCmd(t, url, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestSavepointsWithoutHistoryOrJob(t *testing.T) {
	url := savepointsRedis(t)
	trackJob(t, url, &messages.Deployed{RequestID: "wc-staging", Job: messages.JobRef{Namespace: "staging", ClusterID: "wordcount"},
		Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
		Image: "registry.example.com/ff/wordcount@sha256:" + strings.Repeat("b", 64), RestEndpoint: "http://wordcount-rest.staging:8081", Time: statusT0})
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // the output
		problem string // in the error instead
	}{
		{"no history", []string{"sessions"}, "no savepoints recorded for edge/analytics/sessions\n", ""},
		{"no history as json", []string{"sessions", "-o", "json"}, "[]\n", ""},
		{"the other wordcount", []string{"wordcount", "-n", "staging"}, "no savepoints recorded for /staging/wordcount\n", ""},
		{"ambiguous", []string{"wordcount"}, "", "cluster id wordcount is ambiguous, 2 tracked jobs have it (/flink-jobs/wordcount, /staging/wordcount)"},
		{"unknown", []string{"gone"}, "", "no tracked job has cluster id gone"},
		{"bad format", []string{"wordcount", "-n", "staging", "-o", "csv"}, "", `unknown output format "csv"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSavepointsCmd(t, url, tc.args...)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("error = %v, want one saying %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := out, tc.want; got != want {
				t.Errorf("output = %q, want %q", got, want)
			}
		})
	}
}

// TestSavepointsOfAMovedJob: a job moved from Kubernetes cluster a to b
// keeps its cluster id; `flinkferry savepoints <cluster-id>` names the
// job in b (the record left in a, TERMINATED moved, is set aside with a
// note) and prints the history carried there, the move's savepoint
// first; --kube-cluster a still reaches the old record.
func TestSavepointsOfAMovedJob(t *testing.T) {
	url := statusRedis(t, false)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	s, err := jobstore.New(rdb, jobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	from := messages.JobRef{KubeCluster: "a", Namespace: "flink-jobs", ClusterID: "wordcount"}
	to := messages.JobRef{KubeCluster: "b", Namespace: "flink-jobs", ClusterID: "wordcount"}
	image := "registry.example.com/ff/wordcount@sha256:" + strings.Repeat("a", 64)
	for _, d := range []*messages.Deployed{
		{RequestID: "wc-1", Job: from, Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef", Image: image, Time: statusT0.Add(-time.Hour)},
		{RequestID: "wc-2", Job: to, Mode: messages.ModeApplication, FlinkJobID: "fedcba9876543210fedcba9876543210", Image: image, Time: statusT0},
	} {
		if _, err := s.Register(ctx, d, d.Time); err != nil {
			t.Fatal(err)
		}
	}
	move := ops.Op{RequestID: "wc-2", Run: "wc-1", Operation: messages.OpUpgrade, Mode: messages.ModeApplication, Phase: ops.Requested,
		RequestedAt: statusT0.Add(-time.Minute), Upgrade: &messages.ImageBuilt{RequestID: "wc-2", Job: to, Mode: messages.ModeApplication}}
	if res, err := s.RecordOp(ctx, from.Key(), move, "hash-wc-2"); err != nil || res.Outcome != jobstore.OpRecorded {
		t.Fatalf("RecordOp = %+v, %v", res, err)
	}
	j, err := s.Get(ctx, from.Key())
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Apply(ctx, []jobstore.Update{{Key: from.Key(), ExpectVersion: j.Version, Transition: &jobstore.Transition{
		To: messages.StateTerminated, Reason: "moved", Message: "moved to " + to.Key() + " (request wc-2)", Time: statusT0.Add(-time.Minute)}}}); err != nil || res[0].Conflict {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	const sp = "s3://shared/savepoints/savepoint-012345-abcdefabcdef"
	for key, e := range map[string]jobstore.SavepointEntry{
		from.Key(): {Path: sp, Time: statusT0.Add(-time.Minute), Trigger: jobstore.TriggerUpgrade, Result: ops.Completed, RequestID: "wc-2"},
		to.Key():   {Path: sp, Time: statusT0.Add(-time.Minute), Trigger: jobstore.TriggerUpgrade, Result: ops.Completed, RequestID: "wc-2"},
	} {
		if _, err := s.AddSavepoint(ctx, key, e); err != nil {
			t.Fatal(err)
		}
	}
	// Taken in a after the history was carried: the old record's alone.
	if _, err := s.AddSavepoint(ctx, from.Key(), jobstore.SavepointEntry{Time: statusT0, Trigger: jobstore.TriggerManual, Result: ops.Failed, RequestID: "sp-late"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		args          []string
		want, notWant []string
	}{
		{"by cluster id", []string{"wordcount"}, []string{"note: a/flink-jobs/wordcount moved to b/flink-jobs/wordcount", "upgrade  completed  -       " + sp}, []string{"manual"}},
		{"the old record", []string{"wordcount", "--kube-cluster", "a"}, []string{"manual", "upgrade  completed  -       " + sp}, []string{"note:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSavepointsCmd(t, url, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output says %q:\n%s", w, out)
				}
			}
		})
	}
}
