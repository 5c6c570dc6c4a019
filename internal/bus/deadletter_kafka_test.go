package bus_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// lines is a log sink that keeps every line.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// checkLines fails the test for any line over logging.MaxLineBytes and
// returns how many lines contain msg.
func (l *lines) checkLines(t *testing.T, msg string) int {
	t.Helper()
	n := 0
	for _, line := range l.all() {
		if len(line)+1 > logging.MaxLineBytes {
			t.Errorf("log line of %d bytes (cap %d): %.200s", len(line)+1, logging.MaxLineBytes, line)
		}
		if strings.Contains(line, msg) {
			n++
		}
	}
	return n
}

// testRouter is a running router with its logs and metrics.
type testRouter struct {
	logs   *lines
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, with err
	err    error
}

// stop cancels the router's context and returns how long Run took to return.
func (tr *testRouter) stop(t *testing.T) time.Duration {
	t.Helper()
	begin := time.Now()
	tr.cancel()
	select {
	case <-tr.done:
		if tr.err != nil {
			t.Errorf("router.Run: %v", tr.err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("router.Run did not return")
	}
	return time.Since(begin)
}

// counter returns the sum of a counter's series.
func (tr *testRouter) counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := tr.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// runRouter starts a router with one submit handler, logging JSON at debug
// level into its lines, and waits until it consumes. wrap, when set,
// wraps the dead-letter publisher.
func runRouter(t *testing.T, cfg bus.Config, hc bus.HandlerConfig, wrap func(message.Publisher) message.Publisher, fn bus.HandlerFunc[*messages.SubmitRequested]) *testRouter {
	t.Helper()
	if err := bus.EnsureTopics(cfg); err != nil {
		t.Fatal(err)
	}
	tr := &testRouter{logs: &lines{}, reg: prometheus.NewRegistry(), done: make(chan struct{})}
	log := slog.New(slog.NewJSONHandler(tr.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := bus.NewRouter(cfg, bus.Options{Worker: "test", Logger: log, Registerer: tr.reg, Handler: hc})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		bus.WrapDeadLetterPublisher(r, wrap)
	}
	if err := bus.Handle(r, "submit", cfg.Topics().Submit, fn); err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, tr.cancel = context.WithCancel(context.Background())
	go func() {
		tr.err = r.Run(ctx)
		close(tr.done)
	}()
	select {
	case <-r.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("router did not start")
	}
	t.Cleanup(func() {
		tr.cancel()
		<-tr.done
	})
	return tr
}

// failingPublisher fails every publish, as a dead-letter topic that is
// unreachable, unauthorised or deleted.
type failingPublisher struct {
	attempts atomic.Int32
	failed   chan struct{}
}

func newFailingPublisher() *failingPublisher {
	return &failingPublisher{failed: make(chan struct{}, 100)}
}

func (p *failingPublisher) Publish(string, ...*message.Message) error {
	p.attempts.Add(1)
	p.failed <- struct{}{}
	return errors.New("kafka: TOPIC_AUTHORIZATION_FAILED")
}

func (p *failingPublisher) Close() error { return nil }

func (p *failingPublisher) wrap(message.Publisher) message.Publisher { return p }

// hugeError is the 5.8 MB validation report of issue 13, as a permanent error.
func hugeError() error {
	return failure.Permanent(messages.ReasonValidationFailed,
		errors.New(strings.Repeat("flink.dynamic_options[9999]: duplicate key pipeline.name\n", 100_000)))
}

func recordBytes(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

func TestHugeErrorIsDeadLetteredBoundedAndPartitionFlows(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	rec := newRecorder()
	var poisonCalls atomic.Int32
	tr := runRouter(t, cfg, testHandlerConfig(), nil, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		if ev.RequestID == "poison" {
			poisonCalls.Add(1)
			return nil, hugeError()
		}
		rec.add(ev.RequestID)
		return nil, nil
	})
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("poison", "same"), nil)
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("after", "same"), nil)
	rec.wait(t, 20*time.Second, "after")

	dlq := k.Consume(t, topics.DeadLetter, 2, 3*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("dead-letter records = %d, want 1", len(dlq))
	}
	d := dlq[0]
	if got := recordBytes(d); got > bus.DeadLetterMaxBytes {
		t.Errorf("dead-letter record of %d bytes, limit %d", got, bus.DeadLetterMaxBytes)
	}
	errText := testenv.Header(d, "reason_poisoned")
	if len(errText) > bus.MaxErrorHeaderBytes || !strings.Contains(errText, "bytes in all]") ||
		!strings.HasPrefix(errText, "flink.dynamic_options[9999]: duplicate key") {
		t.Errorf("reason_poisoned of %d bytes (cap %d), want the cut report: ...%q", len(errText), bus.MaxErrorHeaderBytes, errText[max(0, len(errText)-80):])
	}
	if got, want := testenv.Header(d, bus.ReasonHeader), messages.ReasonValidationFailed; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
	if got, want := string(d.Value), string(submitJSON("poison", "same")); got != want {
		t.Errorf("a value that fits was changed: %s", got)
	}
	if got := testenv.Header(d, bus.TruncatedHeader); got != "" {
		t.Errorf("%s = %q on a record that fits", bus.TruncatedHeader, got)
	}
	if got := poisonCalls.Load(); got != 1 {
		t.Errorf("poison handled %d times, want 1", got)
	}
	if got := tr.counter(t, "flinkferry_messages_dead_lettered_total"); got != 1 {
		t.Errorf("dead-lettered = %v, want 1", got)
	}
	if got := tr.logs.checkLines(t, "message dead-lettered"); got != 1 {
		t.Errorf("%d lines say the message was dead-lettered, want 1", got)
	}
}

func TestOversizedRecordIsDeadLetteredTruncated(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	rec := newRecorder()
	runRouter(t, cfg, testHandlerConfig(), nil, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		rec.add(ev.RequestID)
		return nil, nil
	})
	// Just under kfake's max.message.bytes (1,048,588): it reaches the
	// worker, but with the bus's headers its dead-letter record would not fit.
	big := bytes.Repeat([]byte("x"), 1_040_000)
	cl := k.Client(t, kgo.ProducerBatchMaxBytes(1_048_000))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Submit, Key: []byte("/flink/big"), Value: big}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k.Produce(t, topics.Submit, "/flink/big", submitJSON("after-big", "big"), nil)
	rec.wait(t, 20*time.Second, "after-big")

	dlq := k.Consume(t, topics.DeadLetter, 1, 10*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("dead-letter records = %d, want 1", len(dlq))
	}
	d := dlq[0]
	if got := recordBytes(d); got > bus.DeadLetterMaxBytes {
		t.Errorf("dead-letter record of %d bytes, limit %d", got, bus.DeadLetterMaxBytes)
	}
	for h, want := range map[string]string{
		bus.ReasonHeader:        messages.ReasonPayloadTooLarge,
		bus.TruncatedHeader:     "payload",
		bus.PayloadBytesHeader:  "1040000",
		bus.PayloadSHA256Header: sha256Hex(big),
	} {
		if got := testenv.Header(d, h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !bytes.HasPrefix(big, d.Value) || len(d.Value) < 900_000 {
		t.Errorf("value of %d bytes, want a prefix of the original close to the limit", len(d.Value))
	}
}

func TestDeadLetterTopicRefusingRecordsSkipsAndCounts(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	rec := newRecorder()
	var poisonCalls atomic.Int32
	tr := runRouter(t, cfg, testHandlerConfig(), nil, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		if ev.RequestID == "poison" {
			poisonCalls.Add(1)
			return nil, hugeError()
		}
		rec.add(ev.RequestID)
		return nil, nil
	})
	// The dead-letter topic takes no record at all, not even a minimal one.
	limit := "64"
	resp, err := kadm.NewClient(k.Client(t)).AlterTopicConfigs(context.Background(),
		[]kadm.AlterConfig{{Name: "max.message.bytes", Value: &limit}}, topics.DeadLetter)
	for _, r := range resp {
		err = errors.Join(err, r.Err)
	}
	if err != nil {
		t.Fatalf("setting max.message.bytes: %v", err)
	}
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("poison", "same"), nil)
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("after", "same"), nil)
	rec.wait(t, 30*time.Second, "after")

	if got := tr.counter(t, "flinkferry_dead_letter_failures_total"); got != 1 {
		t.Errorf("dead-letter failures = %v, want 1", got)
	}
	if got := tr.counter(t, "flinkferry_messages_dead_lettered_total"); got != 0 {
		t.Errorf("dead-lettered = %v, want 0", got)
	}
	time.Sleep(time.Second) // a redelivery would come within NackResendSleep
	if got := poisonCalls.Load(); got != 1 {
		t.Errorf("poison handled %d times, want 1: skipped, not redelivered", got)
	}
	if got := tr.logs.checkLines(t, "dead-lettering failed, message skipped"); got != 1 {
		t.Errorf("%d lines about the skipped message, want 1", got)
	}
	if got := tr.logs.checkLines(t, "Message was too large, server rejected it"); got != 1 {
		t.Errorf("%d lines name the broker's refusal, want 1", got)
	}
	if got := len(k.Consume(t, topics.DeadLetter, 1, 500*time.Millisecond)); got != 0 {
		t.Errorf("dead-letter records = %d, want 0", got)
	}
}

func TestDeadLetterPublishFailingSkipsAfterBoundedAttempts(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	rec := newRecorder()
	fp := newFailingPublisher()
	begin := time.Now()
	tr := runRouter(t, cfg, testHandlerConfig(), fp.wrap, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		if ev.RequestID == "poison" {
			return nil, hugeError()
		}
		rec.add(ev.RequestID)
		return nil, nil
	})
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("poison", "same"), nil)
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("after", "same"), nil)
	rec.wait(t, 30*time.Second, "after")
	if got, want := fp.attempts.Load(), int32(4); got != want {
		t.Errorf("dead-letter publishes = %d, want %d", got, want)
	}
	if d := time.Since(begin); d > 15*time.Second {
		t.Errorf("the next message waited %s", d)
	}
	if got := tr.counter(t, "flinkferry_dead_letter_failures_total"); got != 1 {
		t.Errorf("dead-letter failures = %v, want 1", got)
	}
	if got := tr.logs.checkLines(t, "dead-lettering failed, message skipped"); got != 1 {
		t.Errorf("%d lines about the skipped message, want 1", got)
	}
}

func TestShutdownDuringDeadLetterRetriesIsPromptAndRedelivers(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	topics := cfg.Topics()
	fp := newFailingPublisher()
	tr := runRouter(t, cfg, testHandlerConfig(), fp.wrap, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		return nil, hugeError()
	})
	k.Produce(t, topics.Submit, "/flink/same", submitJSON("poison", "same"), nil)
	select {
	case <-fp.failed:
	case <-time.After(20 * time.Second):
		t.Fatal("dead-lettering never started")
	}
	time.Sleep(100 * time.Millisecond) // waiting before the next attempt
	if d := tr.stop(t); d > 2*time.Second {
		t.Errorf("shutdown took %s while dead-lettering", d)
	}
	if got := tr.counter(t, "flinkferry_dead_letter_failures_total"); got != 0 {
		t.Errorf("dead-letter failures = %v, want 0: shutdown is not a failure", got)
	}
	tr.logs.checkLines(t, "")

	// Not acknowledged: the next consumer dead-letters it.
	runRouter(t, cfg, testHandlerConfig(), nil, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		return nil, hugeError()
	})
	if got := len(k.Consume(t, topics.DeadLetter, 1, 30*time.Second)); got != 1 {
		t.Errorf("dead-letter records = %d, want 1", got)
	}
}

func TestShutdownDuringRetryBackoffIsPrompt(t *testing.T) {
	k := testenv.Kafka(t)
	cfg := k.BusConfig()
	hc := testHandlerConfig()
	hc.InitialInterval, hc.MaxInterval = 10*time.Second, 30*time.Second
	failing := make(chan struct{}, 10)
	tr := runRouter(t, cfg, hc, nil, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
		failing <- struct{}{}
		return nil, errors.New(strings.Repeat("registry answered 503 ", 300_000))
	})
	k.Produce(t, cfg.Topics().Submit, "/flink/flaky", submitJSON("flaky", "flaky"), nil)
	select {
	case <-failing:
	case <-time.After(20 * time.Second):
		t.Fatal("handler never ran")
	}
	time.Sleep(100 * time.Millisecond) // in the 10 s backoff
	if d := tr.stop(t); d > 2*time.Second {
		t.Errorf("shutdown took %s during a retry backoff", d)
	}
	tr.logs.checkLines(t, "")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
