package jobstore

import (
	"context"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

func TestSweepRemovesExpiredTerminalJobs(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{TerminalRetention: 24 * time.Hour})
	ctx := context.Background()
	for _, id := range []string{"old-finished", "old-failed", "new-finished", "running"} {
		register(t, s, deployed("ns", id, "r", t0), t0)
	}
	transition(t, s, "/ns/old-finished", messages.StateFinished, "", t0)
	transition(t, s, "/ns/old-failed", messages.StateFailed, "job_failed", t0.Add(time.Hour))
	transition(t, s, "/ns/new-finished", messages.StateFinished, "", t0.Add(20*time.Hour))
	transition(t, s, "/ns/running", messages.StateRunning, "", t0)
	shard := get(t, s, "/ns/old-finished").Shard
	pending, _ := s.OutboxLen(ctx, shard)

	n, err := s.Sweep(ctx, t0.Add(25*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Sweep() = %d, %v, want 2", n, err)
	}
	js, _ := s.List(ctx, Filter{})
	if len(js) != 2 || js[0].Key != "/ns/new-finished" || js[1].Key != "/ns/running" {
		t.Errorf("left after Sweep: %v", js)
	}
	// Nothing of the removed jobs stays but their outbox entries.
	for _, key := range []string{"/ns/old-finished", "/ns/old-failed"} {
		for _, k := range []string{s.k.job(key), s.k.transitions(key)} {
			if n, _ := rdb.Exists(ctx, k).Result(); n != 0 {
				t.Errorf("%s still exists", k)
			}
		}
		sh := s.ShardOf(key)
		for _, set := range []string{s.k.jobs(sh), s.k.state(sh, messages.StateFinished),
			s.k.state(sh, messages.StateFailed), s.k.kube(sh, ""), s.k.namespace(sh, "ns")} {
			if isMember(t, rdb, set, key) {
				t.Errorf("%s still in %s", key, set)
			}
		}
		if err := rdb.ZScore(ctx, s.k.terminal(sh), key).Err(); err == nil {
			t.Errorf("%s still in the terminal set", key)
		}
	}
	if after, _ := s.OutboxLen(ctx, shard); after != pending {
		t.Errorf("outbox of shard %d: %d entries after Sweep, want %d", shard, after, pending)
	}
	if c, _ := s.Count(ctx); c[messages.StateFinished] != 1 || c[messages.StateFailed] != 0 {
		t.Errorf("Count() after Sweep = %v", c)
	}
	// Nothing more to do; a later sweep takes the rest.
	if n, err := s.Sweep(ctx, t0.Add(25*time.Hour)); n != 0 || err != nil {
		t.Errorf("second Sweep() = %d, %v", n, err)
	}
	if n, err := s.Sweep(ctx, t0.Add(45*time.Hour)); n != 1 || err != nil {
		t.Errorf("Sweep() a day later = %d, %v, want 1", n, err)
	}
}

func TestSweepManyJobs(t *testing.T) {
	s := newStore(t, client(t), Options{TerminalRetention: time.Hour})
	var us []Update
	const n = sweepBatch*2 + 7
	for i := range n {
		d := deployed("ns", "job-"+itoa(i), "r", t0)
		register(t, s, d, t0)
		us = append(us, Update{Key: d.Job.Key(), ExpectVersion: 1, Transition: &Transition{To: messages.StateCanceled, Time: t0}})
	}
	apply(t, s, us...)
	got, err := s.Sweep(context.Background(), t0.Add(2*time.Hour))
	if err != nil || got != n {
		t.Errorf("Sweep() = %d, %v, want %d", got, err, n)
	}
}

func TestForget(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	register(t, s, deployed("ns", "job", "r", t0), t0)
	transition(t, s, "/ns/job", messages.StateRunning, "", t0)
	for range 2 { // forgetting twice is fine
		if err := s.Forget(ctx, "/ns/job"); err != nil {
			t.Fatal(err)
		}
	}
	if js, _ := s.List(ctx, Filter{}); len(js) != 0 {
		t.Errorf("List() after Forget = %v", js)
	}
	if isMember(t, rdb, s.k.state(s.ShardOf("/ns/job"), messages.StateRunning), "/ns/job") {
		t.Error("forgotten job still in its state set")
	}
	// Registered again, it starts over.
	if r := register(t, s, deployed("ns", "job", "r", t0), t0); r.Outcome != Created {
		t.Errorf("Register() after Forget = %+v", r)
	}
}
