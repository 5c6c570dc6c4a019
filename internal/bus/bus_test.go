package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// submitJSON is a valid submit request as an upstream producer in any
// language would write it.
func submitJSON(requestID, clusterID string) []byte {
	return fmt.Appendf(nil, `{"request_id":%q,"job":{"namespace":"flink","cluster_id":%q},"mode":"application",`+
		`"flink":{"version":"1.20"},"program":{"jar":{"url":"https://artifacts.example.com/%s.jar"}}}`,
		requestID, clusterID, clusterID)
}

func testHandlerConfig() bus.HandlerConfig {
	return bus.HandlerConfig{
		Timeout:         5 * time.Second,
		MaxRetries:      5,
		InitialInterval: 50 * time.Millisecond,
		MaxInterval:     5 * time.Second,
		Multiplier:      2,
		MaxElapsed:      20 * time.Second,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// startRouter runs a router with one submit handler until the test ends
// (or stop is called) and waits until it consumes.
func startRouter(t *testing.T, cfg bus.Config, fn bus.HandlerFunc[*messages.SubmitRequested]) (stop func()) {
	t.Helper()
	return startRouterGivingUp(t, cfg, fn, nil)
}

// startRouterGivingUp is startRouter with the handler's GiveUpFunc.
func startRouterGivingUp(t *testing.T, cfg bus.Config, fn bus.HandlerFunc[*messages.SubmitRequested], giveUp bus.GiveUpFunc[*messages.SubmitRequested]) (stop func()) {
	t.Helper()
	if err := bus.EnsureTopics(cfg); err != nil {
		t.Fatal(err)
	}
	r, err := bus.NewRouter(cfg, bus.Options{Worker: "test", Logger: testLogger(t), Handler: testHandlerConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.HandleGivingUp(r, "submit", cfg.Topics().Submit, fn, giveUp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("router did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("router.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// recorder collects the request ids a handler saw.
type recorder struct {
	mu   sync.Mutex
	seen []string
	ch   chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 1000)} }

func (r *recorder) add(id string) {
	r.mu.Lock()
	r.seen = append(r.seen, id)
	r.mu.Unlock()
	r.ch <- id
}

// wait returns once every id in want was seen, or fails after timeout.
func (r *recorder) wait(t *testing.T, timeout time.Duration, want ...string) {
	t.Helper()
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	r.mu.Lock()
	for _, s := range r.seen {
		delete(missing, s)
	}
	r.mu.Unlock()
	deadline := time.After(timeout)
	for len(missing) > 0 {
		select {
		case id := <-r.ch:
			delete(missing, id)
		case <-deadline:
			t.Fatalf("not processed within %s: %v", timeout, keys(missing))
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestHeaderlessRecordFromKgoIsConsumed(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	rec := newRecorder()
	startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		rec.add(ev.RequestID)
		return nil, nil
	})
	// franz-go, not watermill: only a key and a JSON value, no headers.
	k.Produce(t, cfg.Topics().Submit, "/flink/wordcount", submitJSON("plain-1", "wordcount"), nil)
	rec.wait(t, 20*time.Second, "plain-1")
}

func TestCloudEventsRecordIsConsumedAndOutputCarriesHeaders(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	rec := newRecorder()
	topics := cfg.Topics()
	startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		rec.add(ev.RequestID)
		out := &messages.BuildFailed{
			RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode,
			Reason: "artifact_not_found", Message: "the jar URL answered 404", Time: time.Now().UTC(),
		}
		return []bus.Out{{Event: out, Topics: []string{topics.Status}}}, nil
	})
	k.Produce(t, topics.Submit, "/flink/wordcount", submitJSON("ce-1", "wordcount"), map[string]string{
		"ce_specversion": "1.0",
		"ce_id":          "upstream-42",
		"ce_type":        messages.TypeSubmitRequested,
		"ce_source":      "upstream/test",
		"ce_time":        time.Now().UTC().Format(time.RFC3339Nano),
		"content-type":   "application/json",
	})
	rec.wait(t, 20*time.Second, "ce-1")

	got := k.Consume(t, topics.Status, 1, 20*time.Second)
	if len(got) != 1 {
		t.Fatalf("status records = %d, want 1", len(got))
	}
	r := got[0]
	if got, want := string(r.Key), "/flink/wordcount"; got != want {
		t.Errorf("key = %q, want %q", got, want)
	}
	for h, want := range map[string]string{
		"ce_specversion": "1.0",
		"ce_type":        messages.TypeBuildFailed,
		"ce_source":      "flinkferry/test",
		"ce_requestid":   "ce-1",
		"content-type":   "application/json",
		"correlation_id": "ce-1",
	} {
		if got := testenv.Header(r, h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if testenv.Header(r, "ce_id") == "" || testenv.Header(r, "ce_time") == "" {
		t.Errorf("ce_id or ce_time missing: %v", r.Headers)
	}
	for _, h := range r.Headers {
		if strings.HasPrefix(h.Key, "_") {
			t.Errorf("internal header %q leaked to Kafka", h.Key)
		}
	}
	ev, _, err := messages.DecodeMessage(headerMap(r.Headers), "", r.Value)
	if err != nil {
		t.Fatalf("decoding output: %v", err)
	}
	if bf, ok := ev.(*messages.BuildFailed); !ok || bf.Reason != "artifact_not_found" {
		t.Fatalf("output = %#v, want BuildFailed artifact_not_found", ev)
	}
}

func TestTransientErrorsAreRetriedWithGrowingDelays(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	const failures = 4
	var mu sync.Mutex
	var attempts []time.Time
	rec := newRecorder()
	startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		mu.Lock()
		attempts = append(attempts, time.Now())
		n := len(attempts)
		mu.Unlock()
		if n <= failures {
			return nil, errors.New("registry answered 503")
		}
		rec.add(ev.RequestID)
		return nil, nil
	})
	k.Produce(t, cfg.Topics().Submit, "/flink/retry", submitJSON("retry-1", "retry"), nil)
	rec.wait(t, 30*time.Second, "retry-1")

	mu.Lock()
	defer mu.Unlock()
	if got, want := len(attempts), failures+1; got != want {
		t.Fatalf("attempts = %d, want %d", got, want)
	}
	// Multiplier 2 with ±20% jitter: each gap is at least 2*0.8/1.2 = 1.33x the previous.
	var gaps []time.Duration
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i].Sub(attempts[i-1]))
	}
	for i := 1; i < len(gaps); i++ {
		if float64(gaps[i]) < 1.3*float64(gaps[i-1]) {
			t.Errorf("backoff does not grow: gaps %v", gaps)
		}
	}
	if gaps[0] < 35*time.Millisecond {
		t.Errorf("first retry after %s, want about 50ms", gaps[0])
	}
	if got := len(k.Consume(t, cfg.Topics().DeadLetter, 1, 500*time.Millisecond)); got != 0 {
		t.Errorf("dead-letter records = %d, want 0", got)
	}
}

func TestPermanentErrorIsDeadLetteredOnceAndPartitionFlows(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	var mu sync.Mutex
	calls := map[string]int{}
	rec := newRecorder()
	startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		mu.Lock()
		calls[ev.RequestID]++
		mu.Unlock()
		if ev.RequestID == "poison" {
			return nil, failure.Permanentf("artifact_not_found", "GET %s: 404", ev.Program.Jar.URL)
		}
		rec.add(ev.RequestID)
		return nil, nil
	})
	// Same key: same partition, the good record is behind the poisoned one.
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("poison", "same"), nil)
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("after", "same"), nil)
	rec.wait(t, 20*time.Second, "after")

	dlq := k.Consume(t, topics.DeadLetter, 2, 3*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("dead-letter records = %d, want exactly 1", len(dlq))
	}
	d := dlq[0]
	if got, want := testenv.Header(d, bus.ReasonHeader), "artifact_not_found"; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
	if got, want := string(d.Key), "/flink/same"; got != want {
		t.Errorf("dead-letter key = %q, want %q", got, want)
	}
	if got, want := string(d.Value), string(submitJSON("poison", "same")); got != want {
		t.Errorf("dead-letter value changed:\n got %s\nwant %s", got, want)
	}
	if testenv.Header(d, bus.SourceOffsetHeader) == "" || testenv.Header(d, "reason_poisoned") == "" {
		t.Errorf("dead-letter headers incomplete: %v", d.Headers)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["poison"] != 1 {
		t.Errorf("permanent error retried: %d calls, want 1", calls["poison"])
	}
}

func TestBadInputIsDeadLetteredWithReason(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	rec := newRecorder()
	startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		if ev.RequestID == "boom" {
			panic("nil map")
		}
		rec.add(ev.RequestID)
		return nil, nil
	})
	valid := string(submitJSON("x", "bad"))
	statusChanged, err := os.ReadFile("../../messages/testdata/valid/job-status-changed.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		value   string
		headers map[string]string
		reason  string
	}{
		{"malformed json", `{"request_id": "x",`, nil, "malformed_json"},
		{"not json", `hello`, nil, "malformed_json"},
		{"empty", ``, nil, "malformed_json"},
		{"wrong type", strings.Replace(valid, `"request_id":"x"`, `"request_id":42`, 1), nil, "wrong_type"},
		{"unknown field", strings.Replace(valid, `"mode"`, `"clusterId":"a","mode"`, 1), nil, "unknown_field"},
		{"missing required fields", `{"request_id":"x"}`, nil, "validation_failed"},
		{"unknown event type", valid, ceHeaders("io.example.nope.v1"), "unknown_event_type"},
		{"event of another handler", string(statusChanged), ceHeaders(messages.TypeJobStatusChanged), bus.ReasonUnexpectedEventType},
		{"incomplete cloudevent", valid, map[string]string{"ce_specversion": "1.0", "ce_type": messages.TypeSubmitRequested}, "invalid_cloudevent"},
		{"invalid event of another handler", `{}`, ceHeaders(messages.TypeJobStatusChanged), "validation_failed"},
		{"oversized", `{"request_id":"` + strings.Repeat("a", messages.MaxPayloadBytes) + `"}`, nil, "payload_too_large"},
		{"panic", string(submitJSON("boom", "bad")), nil, bus.ReasonPanic},
	}
	for _, tt := range tests {
		k.Produce(t, topics.Submit, "/flink/bad", []byte(tt.value), tt.headers)
	}
	k.Produce(t, topics.Submit, "/flink/bad", submitJSON("good-after-bad", "bad"), nil)
	rec.wait(t, 30*time.Second, "good-after-bad")

	dlq := k.Consume(t, topics.DeadLetter, len(tests), 10*time.Second)
	if len(dlq) != len(tests) {
		t.Fatalf("dead-letter records = %d, want %d", len(dlq), len(tests))
	}
	for i, tt := range tests {
		if got := testenv.Header(dlq[i], bus.ReasonHeader); got != tt.reason {
			t.Errorf("%s: reason = %q, want %q (error %q)", tt.name, got, tt.reason, testenv.Header(dlq[i], "reason_poisoned"))
		}
	}
}

func TestShutdownLetsInFlightWorkFinish(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	started := make(chan struct{}, 1)
	stop := startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		started <- struct{}{}
		select { // a build that takes a moment, as SIGTERM arrives
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []bus.Out{{Event: &messages.BuildFailed{
			RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode, Reason: "artifact_not_found", Message: "404", Time: time.Now(),
		}, Topics: []string{topics.Status}}}, nil
	})
	k.Produce(t, topics.Submit, "/flink/slow", submitJSON("slow-1", "slow"), nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("handler never started")
	}
	stop()
	if got := len(k.Consume(t, topics.Status, 1, 5*time.Second)); got != 1 {
		t.Errorf("status records = %d, want 1: the in-flight handler must finish and publish", got)
	}
	if got := len(k.Consume(t, topics.DeadLetter, 1, 500*time.Millisecond)); got != 0 {
		t.Errorf("dead-letter records = %d, want 0", got)
	}
}

func TestShutdownDuringRetriesRedelivers(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	failing := make(chan struct{}, 100)
	stop := startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		failing <- struct{}{}
		return nil, errors.New("registry answered 503")
	})
	k.Produce(t, topics.Submit, "/flink/flaky", submitJSON("flaky-1", "flaky"), nil)
	for range 2 {
		select {
		case <-failing:
		case <-time.After(20 * time.Second):
			t.Fatal("handler never ran")
		}
	}
	begin := time.Now()
	stop()
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("shutdown took %s while retrying", d)
	}
	if got := len(k.Consume(t, topics.DeadLetter, 1, 500*time.Millisecond)); got != 0 {
		t.Errorf("dead-letter records = %d, want 0: shutdown is not a failure", got)
	}
	rec := newRecorder()
	startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		rec.add(ev.RequestID)
		return nil, nil
	})
	rec.wait(t, 30*time.Second, "flaky-1")
}

func TestTwoConsumersShareAndTakeOver(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	var mu sync.Mutex
	byConsumer := map[string]map[string]bool{"a": {}, "b": {}}
	rec := newRecorder()
	handler := func(name string) bus.HandlerFunc[*messages.SubmitRequested] {
		return func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
			mu.Lock()
			byConsumer[name][ev.RequestID] = true
			mu.Unlock()
			rec.add(ev.RequestID)
			return nil, nil
		}
	}
	stopA := startRouter(t, cfg, handler("a"))
	startRouter(t, cfg, handler("b"))

	var first, second []string
	for i := range 60 {
		id := fmt.Sprintf("job-%02d", i)
		first = append(first, id)
		k.Produce(t, topics.Submit, "/flink/"+id, submitJSON(id, id), nil)
	}
	rec.wait(t, 60*time.Second, first...)
	mu.Lock()
	a, b := len(byConsumer["a"]), len(byConsumer["b"])
	mu.Unlock()
	if a == 0 || b == 0 {
		t.Fatalf("partitions not shared: a=%d b=%d", a, b)
	}

	stopA()
	for i := range 60 {
		id := fmt.Sprintf("late-%02d", i)
		second = append(second, id)
		k.Produce(t, topics.Submit, "/flink/"+id, submitJSON(id, id), nil)
	}
	rec.wait(t, 60*time.Second, second...)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range second {
		if !byConsumer["b"][id] && !byConsumer["a"][id] {
			t.Errorf("%s lost", id)
		}
	}
}

func headerMap(hs []kgoHeader) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

type kgoHeader = kgo.RecordHeader

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func containsString(s, sub string) bool { return strings.Contains(s, sub) }

// ceHeaders are complete CloudEvents headers for type typ.
func ceHeaders(typ string) map[string]string {
	return map[string]string{"ce_specversion": "1.0", "ce_type": typ, "ce_id": "id-1", "ce_source": "test"}
}

// TestGivingUpTellsTheOthers: a record whose transient errors outlast the
// retry budget is dead-lettered (retries_exhausted) and the handler's
// GiveUpFunc events are published beside it, once, with the id its own
// output would have; a permanent error or success never calls it.
func TestGivingUpTellsTheOthers(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	var mu sync.Mutex
	gaveUp := map[string]int{}
	rec := newRecorder()
	startRouterGivingUp(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		switch ev.RequestID {
		case "stuck":
			return nil, errors.New("the API server answered 500: range is full")
		case "poison":
			return nil, failure.Permanentf("artifact_not_found", "404")
		}
		rec.add(ev.RequestID)
		return nil, nil
	}, func(ctx context.Context, ev *messages.SubmitRequested, err error) []bus.Out {
		mu.Lock()
		gaveUp[ev.RequestID]++
		mu.Unlock()
		return []bus.Out{{Event: &messages.BuildFailed{
			RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode,
			Reason: bus.ReasonRetriesExhausted, Message: err.Error(), Time: time.Now().UTC(),
		}, Topics: []string{topics.Status}}}
	})
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("stuck", "same"), nil)
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("poison", "same"), nil)
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("after", "same"), nil)
	rec.wait(t, 30*time.Second, "after")

	dlq := k.Consume(t, topics.DeadLetter, 3, 3*time.Second)
	reasons := map[string]string{}
	for _, d := range dlq {
		var req struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(d.Value, &req); err != nil {
			t.Fatal(err)
		}
		reasons[req.RequestID] = testenv.Header(d, bus.ReasonHeader)
	}
	if len(dlq) != 2 || reasons["stuck"] != bus.ReasonRetriesExhausted || reasons["poison"] != "artifact_not_found" {
		t.Errorf("dead letters = %v, want stuck retries_exhausted and poison artifact_not_found", reasons)
	}
	status := k.Consume(t, topics.Status, 2, 3*time.Second)
	if len(status) != 1 {
		t.Fatalf("status records = %d, want the one given-up event", len(status))
	}
	ev, _, err := messages.DecodeMessage(headerMap(status[0].Headers), "", status[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if bf, ok := ev.(*messages.BuildFailed); !ok || bf.RequestID != "stuck" || !strings.Contains(bf.Message, "range is full") {
		t.Errorf("given-up event = %#v, want stuck's BuildFailed with the last error", ev)
	}
	if testenv.Header(status[0], "ce_id") == "" || string(status[0].Key) != "/flink/same" {
		t.Errorf("given-up event: ce_id %q, key %q", testenv.Header(status[0], "ce_id"), status[0].Key)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gaveUp) != 1 || gaveUp["stuck"] != 1 {
		t.Errorf("GiveUpFunc calls = %v, want stuck once", gaveUp)
	}
}
