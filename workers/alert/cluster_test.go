package alert

import (
	"context"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// onCluster is the Redis Cluster newTestHandler's store uses while
// TestStoreOnCluster runs (these tests do not run in parallel).
var onCluster *testenv.RedisClusterGroup

// TestStoreOnCluster runs the store's tests on a real Redis Cluster of
// three masters: the scripts' keys share the prefix's hash tag (Redis
// refuses CROSSSLOT otherwise), and the readers find what they wrote.
func TestStoreOnCluster(t *testing.T) {
	onCluster = testenv.RedisCluster(t)
	defer func() { onCluster = nil }()
	for _, tt := range []struct {
		name string
		test func(*testing.T)
	}{
		{"RateLimitSuppressesAFlappingJob", TestRateLimitSuppressesAFlappingJob},
		{"RedeliveryAfterAFailureSendsOnlyToTheChannelsLeft", TestRedeliveryAfterAFailureSendsOnlyToTheChannelsLeft},
		{"ConditionResolvedNoticeIsRetriedAtTheNextEvaluation", TestConditionResolvedNoticeIsRetriedAtTheNextEvaluation},
		{"FiringAndPending", testFiringAndPending},
	} {
		t.Run(tt.name, tt.test)
	}
}

// testFiringAndPending: a firing alert is listed by Firing and, until its
// channel took it, by Pending; Done clears it.
func testFiringAndPending(t *testing.T) {
	ctx := context.Background()
	now := t0
	ch := &fakeChannel{name: "a"}
	h := newTestHandler(t, time.Minute, &now, ch)
	n := &Notice{Fingerprint: "fp-1", Key: "/ns/job", Status: "firing", Time: t0}
	a, err := h.Store.Apply(ctx, "ev-1", true, n, []string{"a"}, now)
	if err != nil || a.Kind != "notify" {
		t.Fatalf("Apply() = %+v, %v; want notify", a, err)
	}
	if p, err := h.Store.Pending(ctx); err != nil || !p["fp-1"] {
		t.Errorf("Pending() = %v, %v; want fp-1", p, err)
	}
	if f, err := h.Store.Firing(ctx); err != nil || len(f) != 1 || f[0].Fingerprint != "fp-1" {
		t.Errorf("Firing() = %v, %v; want fp-1", f, err)
	}
	if err := h.Store.Done(ctx, "fp-1", "ev-1", "a"); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.Store.Pending(ctx); len(p) != 0 {
		t.Errorf("Pending() after Done = %v, want none", p)
	}
}
