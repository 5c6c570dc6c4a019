package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/alert"
)

// alertsRedis is a Redis database holding what the alert worker writes:
// wordcount failed, was notified and resolved, then broken failed and is
// still firing (its notice to one channel was not delivered).
func alertsRedis(t *testing.T) string {
	t.Helper()
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "no-dev.json"))
	for _, k := range []string{"FLINKFERRY_REDIS_URL", "FLINKFERRY_REDIS_PASSWORD", "FLINKFERRY_ALERT_REDIS_PREFIX"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Setenv(k, v)
			os.Unsetenv(k)
		}
	}
	r := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, DB: r.DB})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	s := alert.NewStore(rdb, alert.StoreOptions{})
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	broken := &alert.Notice{
		Status: alert.StatusFiring, Rule: "job-failed", Severity: "critical", Fingerprint: alert.Fingerprint("job-failed", "/flink-jobs/broken"),
		Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "broken"}, Key: "/flink-jobs/broken", To: "FAILED", Reason: "job_failed",
		WebUIURL: "http://127.0.0.1:8081/flink-jobs/broken/", Time: t0.Add(2 * time.Minute),
	}
	if a, err := s.Apply(ctx, "ev-b1", true, broken, []string{"slack", "pager"}, t0); err != nil || a.Kind != "notify" {
		t.Fatalf("Apply() = %+v, %v", a, err)
	}
	for _, rec := range []alert.Record{
		{Time: t0, Status: "firing", Rule: "job-failed", Severity: "critical", Job: "/flink-jobs/wordcount", From: "RUNNING", To: "FAILED",
			Reason: "job_failed", Channels: []string{"slack"}, Event: "ev-w1"},
		{Time: t0.Add(time.Minute), Status: "resolved", Rule: "job-failed", Severity: "critical", Job: "/flink-jobs/wordcount", From: "FAILED", To: "RUNNING",
			Channels: []string{"slack"}, Event: "ev-w2"},
		{Time: t0.Add(2 * time.Minute), Status: "firing", Rule: "job-failed", Severity: "critical", Job: "/flink-jobs/broken", To: "FAILED",
			Reason: "job_failed", Channels: []string{"slack"}, Failed: map[string]string{"pager": "channel pager: not delivered"}, Event: "ev-b1"},
	} {
		if err := s.AddHistory(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	return r.URL()
}

func TestAlertsListsRecentAlertsNewestFirst(t *testing.T) {
	url := alertsRedis(t)
	out, err := execute(t, "alerts", "--redis-url", url)
	if err != nil {
		t.Fatal(err)
	}
	want := `TIME                  STATUS    SEVERITY  RULE        JOB                    STATE    REASON      CHANNELS
2026-11-28T10:02:00Z  firing    critical  job-failed  /flink-jobs/broken     FAILED   job_failed  slack,!pager
2026-11-28T10:01:00Z  resolved  critical  job-failed  /flink-jobs/wordcount  RUNNING  -           slack
2026-11-28T10:00:00Z  firing    critical  job-failed  /flink-jobs/wordcount  FAILED   job_failed  slack
`
	if out != want {
		t.Errorf("alerts printed:\n%s\nwant:\n%s", out, want)
	}

	out, err = execute(t, "alerts", "--redis-url", url, "--limit", "2", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []alert.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if len(recs) != 2 || recs[0].Job != "/flink-jobs/broken" || recs[0].Failed["pager"] == "" || recs[1].Status != "resolved" {
		t.Errorf("-o json --limit 2 = %+v", recs)
	}
}

func TestAlertsFiring(t *testing.T) {
	url := alertsRedis(t)
	out, err := execute(t, "alerts", "--redis-url", url, "--firing")
	if err != nil {
		t.Fatal(err)
	}
	want := `SINCE                 SEVERITY  RULE        JOB                 STATE   REASON      WEB UI
2026-11-28T10:02:00Z  critical  job-failed  /flink-jobs/broken  FAILED  job_failed  http://127.0.0.1:8081/flink-jobs/broken/
`
	if out != want {
		t.Errorf("alerts --firing printed:\n%s\nwant:\n%s", out, want)
	}
	out, err = execute(t, "alerts", "--redis-url", url, "--firing", "-o", "yaml")
	if err != nil || !strings.Contains(out, "fingerprint: "+alert.Fingerprint("job-failed", "/flink-jobs/broken")) {
		t.Errorf("alerts --firing -o yaml = %v\n%s", err, out)
	}
}

func TestAlertsEmptyAndBadFlags(t *testing.T) {
	url := alertsRedis(t)
	out, err := execute(t, "alerts", "--redis-url", url, "--redis-prefix", "other:")
	if err != nil || out != "no alerts recorded\n" {
		t.Errorf("alerts on an empty prefix = %q, %v", out, err)
	}
	out, err = execute(t, "alerts", "--redis-url", url, "--redis-prefix", "other:", "-o", "json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("alerts -o json on an empty prefix = %q, %v", out, err)
	}
	if _, err := execute(t, "alerts", "--redis-url", url, "-o", "xml"); err == nil || !strings.Contains(err.Error(), `unknown output format "xml"`) {
		t.Errorf("alerts -o xml = %v", err)
	}
}
