package alert

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// fakeChannel records notices and fails while fail is set.
type fakeChannel struct {
	name string
	mu   sync.Mutex
	got  []Notice
	fail bool
}

func (c *fakeChannel) Name() string { return c.name }

func (c *fakeChannel) Deliver(_ context.Context, n *Notice) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return &DeliveryError{Channel: c.name, Attempts: 1, Err: errors.New("HTTP 503")}
	}
	c.got = append(c.got, *n)
	return nil
}

func (c *fakeChannel) statuses() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, n := range c.got {
		s = append(s, n.Status+":"+n.To)
	}
	return s
}

func newTestHandler(t *testing.T, minInterval time.Duration, now *time.Time, channels ...*fakeChannel) *Handler {
	t.Helper()
	var rdb redis.UniversalClient
	if onCluster != nil {
		if err := onCluster.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		rdb = onCluster.Client(t)
	} else {
		r := testenv.Redis(t)
		opts, _ := redis.ParseURL(r.URL())
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		rdb = c
	}
	h := &Handler{
		Rules:    []Rule{{Name: "job-failed", Severity: "critical", Match: Match{To: []messages.JobState{messages.StateFailed, messages.StateLost}}}},
		Channels: map[string]Channel{},
		Store:    NewStore(rdb, StoreOptions{MinInterval: minInterval}),
		Now:      func() time.Time { return *now },
	}
	for _, c := range channels {
		h.Channels[c.name] = c
		h.Rules[0].Channels = append(h.Rules[0].Channels, c.name)
	}
	return h
}

func TestRateLimitSuppressesAFlappingJob(t *testing.T) {
	ctx := context.Background()
	now := t0
	ch := &fakeChannel{name: "a"}
	h := newTestHandler(t, time.Minute, &now, ch)
	for i, step := range []struct {
		ev      *messages.JobStatusChanged
		advance time.Duration
	}{
		{statusEvent(messages.StateRunning, messages.StateFailed, 0), 0},
		{statusEvent(messages.StateFailed, messages.StateRunning, 10), 10 * time.Second},
		{statusEvent(messages.StateRunning, messages.StateFailed, 20), 10 * time.Second},  // within the minute: suppressed
		{statusEvent(messages.StateFailed, messages.StateRunning, 30), 10 * time.Second},  // resolves quietly
		{statusEvent(messages.StateRunning, messages.StateFailed, 100), 70 * time.Second}, // past the minute: sent
	} {
		now = now.Add(step.advance)
		if _, err := h.Handle(ctx, step.ev); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if got, want := ch.statuses(), []string{"firing:FAILED", "resolved:RUNNING", "firing:FAILED"}; !slices.Equal(got, want) {
		t.Errorf("notices = %v, want %v", got, want)
	}
	recs, _ := h.Store.Recent(ctx, 0)
	var got []string
	for _, r := range recs {
		got = append(got, r.Status)
	}
	if want := []string{"firing", "suppressed", "resolved", "firing"}; !slices.Equal(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
}

func TestRedeliveryAfterAFailureSendsOnlyToTheChannelsLeft(t *testing.T) {
	ctx := context.Background()
	now := t0
	ok, flaky := &fakeChannel{name: "ok"}, &fakeChannel{name: "flaky", fail: true}
	h := newTestHandler(t, 0, &now, ok, flaky)
	ev := statusEvent(messages.StateRunning, messages.StateFailed, 0)
	_, err := h.Handle(ctx, ev)
	if !failure.IsPermanent(err) || failure.Reason(err) != ReasonUndeliverable {
		t.Fatalf("Handle() = %v, want a permanent %s error", err, ReasonUndeliverable)
	}
	// The dead letter replayed once the receiver is back.
	flaky.mu.Lock()
	flaky.fail = false
	flaky.mu.Unlock()
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// And once more: a duplicate now.
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := ok.statuses(); !slices.Equal(got, []string{"firing:FAILED"}) {
		t.Errorf("channel ok got %v, want one firing notice", got)
	}
	if got := flaky.statuses(); !slices.Equal(got, []string{"firing:FAILED"}) {
		t.Errorf("channel flaky got %v, want one firing notice", got)
	}
}

func TestOtherEventTypesAreIgnored(t *testing.T) {
	now := t0
	ch := &fakeChannel{name: "a"}
	h := newTestHandler(t, 0, &now, ch)
	refused := &messages.ControlRefused{RequestID: "c-1", Job: messages.JobRef{Namespace: "ns", ClusterID: "x"},
		Operation: messages.OpCancel, Reason: messages.RefusedJobNotFound, Time: t0}
	if out, err := h.Handle(context.Background(), refused); err != nil || out != nil {
		t.Fatalf("Handle(ControlRefused) = %v, %v", out, err)
	}
	if len(ch.statuses()) != 0 {
		t.Error("a refusal was notified")
	}
}

// TestConditionResolvedNoticeIsRetriedAtTheNextEvaluation: a resolved
// notice a channel did not take stays pending, and the next evaluation
// sends it again (once); a channel removed from the rules takes nothing
// and leaves nothing pending.
func TestConditionResolvedNoticeIsRetriedAtTheNextEvaluation(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(20 * time.Minute)
	ch := &fakeChannel{name: "a"}
	h := newTestHandler(t, 0, &now, ch)
	h.Rules = []Rule{{Name: "stale", Severity: "warning", Condition: &Condition{NoCheckpointFor: 10 * time.Minute}, Channels: []string{"a", "gone"}}}
	job := &jobstore.Job{Key: "/flink-jobs/wordcount", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"},
		Mode: messages.ModeApplication, State: messages.StateRunning, StateSince: t0}
	if err := h.Evaluate(ctx, []*jobstore.Job{job}); err != nil {
		t.Fatal(err)
	}
	ch.mu.Lock()
	ch.fail = true
	ch.mu.Unlock()
	job.Checkpoints.LastCompletedAt = now // a checkpoint: resolved, not delivered
	if err := h.Evaluate(ctx, []*jobstore.Job{job}); err == nil {
		t.Fatal("Evaluate() = nil, want the delivery error")
	}
	if p, _ := h.Store.Pending(ctx); !p[Fingerprint("stale", job.Key)] {
		t.Fatalf("pending = %v, want the resolved alert", p)
	}
	ch.mu.Lock()
	ch.fail = false
	ch.mu.Unlock()
	for range 2 {
		if err := h.Evaluate(ctx, []*jobstore.Job{job}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ch.statuses(), []string{"firing:RUNNING", "resolved:RUNNING"}; !slices.Equal(got, want) {
		t.Errorf("notices = %v, want %v", got, want)
	}
	if p, _ := h.Store.Pending(ctx); len(p) != 0 {
		t.Errorf("pending = %v, want none", p)
	}
}
