package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// request is one call a receiver got.
type request struct {
	path    string
	body    []byte
	headers http.Header
	status  int
}

// receiver is a real HTTP server on 127.0.0.1 that records every request
// and answers with answer(n), n counting from 1 (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []request
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if r.answer != nil {
			status = r.answer(len(r.calls) + 1)
		}
		r.calls = append(r.calls, request{path: req.URL.Path, body: body, headers: req.Header.Clone(), status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "status %d\n", status)
	}))
	t.Cleanup(r.Close)
	return r
}

// delivered returns the calls answered 2xx.
func (r *receiver) delivered() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []request
	for _, c := range r.calls {
		if c.status < 300 {
			out = append(out, c)
		}
	}
	return out
}

func (r *receiver) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.calls...)
}

// waitDelivered waits until r got n successful calls.
func waitDelivered(t *testing.T, r *receiver, n int) []request {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.delivered(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("receiver got %d successful calls, want %d", len(r.delivered()), n)
	return nil
}

// alertEnv is a running alert worker on kfake and redis-server.
type alertEnv struct {
	kafka  *testenv.KafkaCluster
	topics messages.Topics
	prod   *bus.Producer
	store  *Store
	rdb    *redis.Client
}

const testSecret = "hmac-test-secret"

// startAlert writes rules to a file and runs the alert worker on fresh
// peers, with a 1 s retry budget and no rate limit unless edit says so.
func startAlert(t *testing.T, rules string, edit func(*AlertConfig)) *alertEnv {
	t.Helper()
	return startAlertWith(t, rules, edit, Overrides{}, nil)
}

// startAlertWith is startAlert with overrides and the worker's logs
// written to logs (discarded when nil).
func startAlertWith(t *testing.T, rules string, edit func(*AlertConfig), o Overrides, logs io.Writer) *alertEnv {
	t.Helper()
	t.Setenv("ALERT_TEST_SECRET", testSecret)
	k := testenv.Kafka(t)
	r := testenv.Redis(t)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Common: k.WorkerCommon(),
		Redis:  redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second},
		Alert: AlertConfig{
			RulesFile: path, RedisPrefix: DefaultPrefix, RequestTimeout: time.Second,
			RetryInitialInterval: 50 * time.Millisecond, RetryMaxInterval: 200 * time.Millisecond, RetryMultiplier: 2,
			RetryBudget: 2 * time.Second, MaxBodyBytes: 65536, HistoryMax: 100, ResolvedRetention: time.Hour,
			ResendInterval: time.Minute, EvaluateInterval: time.Minute, TrackRedisPrefix: "ff:",
		},
	}
	if edit != nil {
		edit(&cfg.Alert)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	spec := Spec(cfg, o)
	if logs != nil {
		spec.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	testenv.RunWorker(t, spec)
	prod, err := bus.NewProducer(k.BusConfig(), "flinkferry/test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close() })
	opts, _ := redis.ParseURL(r.URL())
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return &alertEnv{kafka: k, topics: k.BusConfig().Topics(), prod: prod, store: NewStore(rdb, StoreOptions{}), rdb: rdb}
}

// send publishes ev to the status topic with ce_id id.
func (e *alertEnv) send(t *testing.T, ev messages.Event, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.prod.SendWithID(ctx, ev, id, e.topics.Status); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// statusEvent is wordcount moving from -> to at t0 + sec seconds.
func statusEvent(from, to messages.JobState, sec int) *messages.JobStatusChanged {
	return &messages.JobStatusChanged{
		RequestID: "req-wordcount", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"},
		Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
		From: from, To: to, Reason: "job_" + strings.ToLower(string(to)), Message: "java.lang.RuntimeException: boom",
		WebUIURL: "http://127.0.0.1:8081/flink-jobs/wordcount/", Labels: map[string]string{"team": "data"},
		Time: t0.Add(time.Duration(sec) * time.Second),
	}
}

func TestFailedJobAlertsOnceSignedAndResolvesOnce(t *testing.T) {
	hook := newReceiver(t, nil)
	barrier := newReceiver(t, nil)
	env := startAlert(t, fmt.Sprintf(`
channels:
  - {name: callback, url: %q, template: json, hmac: {secret_env: ALERT_TEST_SECRET}}
  - {name: barrier, url: %q}
rules:
  - {name: job-failed, severity: critical, match: {to: [FAILED, LOST]}, channels: [callback]}
  - {name: job-finished, severity: info, match: {to: [FINISHED]}, channels: [barrier]}
`, hook.URL+"/hook", barrier.URL), nil)

	failed := statusEvent(messages.StateRunning, messages.StateFailed, 0)
	env.send(t, failed, "ev-1")
	got := waitDelivered(t, hook, 1)[0]

	// The rendered body: the generic JSON callback.
	var body map[string]any
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got.body)
	}
	for k, want := range map[string]any{"status": "firing", "state": "FAILED", "from": "RUNNING", "key": "/flink-jobs/wordcount",
		"reason": "job_failed", "rule": "job-failed", "severity": "critical", "web_ui_url": "http://127.0.0.1:8081/flink-jobs/wordcount/"} {
		if body[k] != want {
			t.Errorf("body %s = %v, want %v", k, body[k], want)
		}
	}
	// A valid HMAC-SHA256 signature over timestamp + "." + body.
	ts := got.headers.Get(TimestampHeader)
	if ts == "" || got.headers.Get(SignatureHeader) != Sign([]byte(testSecret), ts, got.body) {
		t.Errorf("signature %q over timestamp %q does not verify", got.headers.Get(SignatureHeader), ts)
	}
	if got.headers.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", got.headers.Get("Content-Type"))
	}

	// The same event again (a redelivery, same or new ce_id), then LOST:
	// the alert is already firing, nothing is sent.
	env.send(t, failed, "ev-1")
	env.send(t, failed, "ev-1-again")
	env.send(t, statusEvent(messages.StateFailed, messages.StateLost, 5), "ev-2")
	// Back to RUNNING: one resolved notice, even delivered twice.
	running := statusEvent(messages.StateLost, messages.StateRunning, 10)
	env.send(t, running, "ev-3")
	env.send(t, running, "ev-3")
	// The barrier: a later event of the same job (same partition) with its
	// own channel; once it arrived, everything before it was handled.
	env.send(t, statusEvent(messages.StateRunning, messages.StateFinished, 20), "ev-4")
	waitDelivered(t, barrier, 1)

	calls := hook.all()
	if len(calls) != 2 {
		t.Fatalf("receiver got %d calls, want 2 (firing, resolved)", len(calls))
	}
	var resolved map[string]any
	if err := json.Unmarshal(calls[1].body, &resolved); err != nil {
		t.Fatal(err)
	}
	if resolved["status"] != "resolved" || resolved["state"] != "RUNNING" || resolved["starts_at"] != "2026-11-28T10:00:00Z" {
		t.Errorf("second call = %s, want the resolved notice (RUNNING, started at t0)", calls[1].body)
	}
	if resolved["fingerprint"] != body["fingerprint"] {
		t.Errorf("fingerprints differ: %v, %v", body["fingerprint"], resolved["fingerprint"])
	}

	// flinkferry alerts' data: newest first.
	recs, err := env.store.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, r := range recs {
		statuses = append(statuses, r.Rule+":"+r.Status)
	}
	if got, want := strings.Join(statuses, ","), "job-finished:firing,job-failed:resolved,job-failed:firing"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	firing, err := env.store.Firing(context.Background())
	if err != nil || len(firing) != 1 || firing[0].Rule != "job-finished" {
		t.Errorf("Firing() = %+v, %v, want only job-finished", firing, err)
	}
}

func TestWebhookAnswering500ThriceIsDeliveredOnce(t *testing.T) {
	hook := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	env := startAlert(t, fmt.Sprintf(`
channels: [{name: flaky, url: %q, template: slack}]
rules: [{name: job-failed, match: {to: [FAILED]}, channels: [flaky]}]
`, hook.URL), nil)
	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1")
	waitDelivered(t, hook, 1)
	time.Sleep(500 * time.Millisecond) // nothing more comes
	calls := hook.all()
	if len(calls) != 4 || len(hook.delivered()) != 1 {
		t.Fatalf("receiver got %d calls (%d delivered), want 3 failed + 1 delivered", len(calls), len(hook.delivered()))
	}
	if !json.Valid(calls[3].body) || !strings.Contains(string(calls[3].body), `"text": "[FIRING] warning job-failed /flink-jobs/wordcount RUNNING → FAILED (job_failed)"`) {
		t.Errorf("delivered body:\n%s", calls[3].body)
	}
	if got := env.kafka.Consume(t, env.topics.DeadLetter, 1, 500*time.Millisecond); len(got) != 0 {
		t.Errorf("dead-letter topic has %d records, want none", len(got))
	}
}

func TestWebhookDownForTheBudgetIsDeadLettered(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL + "/hook/s3cr3t-token?key=abc"
	down.Close() // nothing listens there any more
	env := startAlert(t, fmt.Sprintf(`
channels: [{name: down, url: %q}]
rules: [{name: job-failed, match: {to: [FAILED]}, channels: [down]}]
`, url), func(a *AlertConfig) { a.RetryBudget = time.Second })
	start := time.Now()
	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1")
	dl := env.kafka.Consume(t, env.topics.DeadLetter, 1, 30*time.Second)
	if len(dl) != 1 {
		t.Fatalf("dead-letter topic has %d records, want 1", len(dl))
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("dead-lettered after %s, want about the 1 s budget", took)
	}
	d := dl[0]
	if got, want := testenv.Header(d, bus.ReasonHeader), ReasonUndeliverable; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
	text := testenv.Header(d, "reason_poisoned")
	for _, want := range []string{"rule job-failed", "firing notice of /flink-jobs/wordcount", "channel down: not delivered after", "connection refused"} {
		if !strings.Contains(text, want) {
			t.Errorf("dead-letter error lacks %q: %s", want, text)
		}
	}
	if strings.Contains(text, "s3cr3t-token") || strings.Contains(text, "key=abc") {
		t.Errorf("dead-letter error quotes the webhook URL: %s", text)
	}
	if got, want := string(d.Key), "/flink-jobs/wordcount"; got != want {
		t.Errorf("dead letter key = %q, want %q", got, want)
	}
	recs, err := env.store.Recent(context.Background(), 1)
	if err != nil || len(recs) != 1 || recs[0].Failed["down"] == "" || len(recs[0].Channels) != 0 {
		t.Errorf("history = %+v, %v, want the notice recorded as failed on channel down", recs, err)
	}
}
