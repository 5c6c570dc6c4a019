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
	s, err := jobstore.New(rdb, jobstore.Options{})
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
