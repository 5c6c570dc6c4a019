package jobstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

func TestApplyWritesObservations(t *testing.T) {
	s := newStore(t, client(t), Options{})
	key := deployed("ns", "job", "r", t0).Job.Key()
	register(t, s, deployed("ns", "job", "r", t0), t0)
	m := Metrics{JobManagerMemoryBytes: 1600 << 20, TaskManagerMemoryBytes: 1728 << 20, TaskManagers: 2,
		SlotsTotal: 4, SlotsAvailable: 1, RunningJobs: 1, FlinkVersion: "1.19.1"}
	cp := Checkpoints{Total: 10, Completed: 8, Failed: 1, InProgress: 1, Restored: 0, LastCompletedID: 9,
		LastCompletedAt: t0.Add(time.Minute), LastCompletedSize: 12345, LastCompletedPath: "s3://bucket/cp/chk-9",
		LastFailedAt: t0.Add(30 * time.Second), LastFailureMessage: "timeout"}
	silent := t0.Add(5 * time.Second)
	res := apply(t, s, Update{Key: key, ExpectVersion: 1, LastError: "connection refused", SilentSince: &silent})
	if res[0] != (Result{Version: 2}) {
		t.Fatalf("Apply() = %+v, want version 2", res[0])
	}
	if j := get(t, s, key); j.LastError != "connection refused" || !j.SilentSince.Equal(silent) {
		t.Errorf("error %q silent %s", j.LastError, j.SilentSince)
	}
	zero := time.Time{}
	res = apply(t, s, Update{Key: key, ExpectVersion: 2, LastPoll: t0.Add(2 * time.Minute), StartTime: t0,
		DurationMS: 120000, Metrics: &m, Checkpoints: &cp, SilentSince: &zero})
	if res[0].Conflict || res[0].Version != 3 || res[0].Transitioned {
		t.Fatalf("Apply() = %+v", res[0])
	}
	j := get(t, s, key)
	if !j.LastPoll.Equal(t0.Add(2*time.Minute)) || j.LastError != "" || !j.SilentSince.IsZero() ||
		!j.StartTime.Equal(t0) || !j.EndTime.IsZero() || j.DurationMS != 120000 {
		t.Errorf("observations = poll %s error %q silent %s start %s end %s duration %d",
			j.LastPoll, j.LastError, j.SilentSince, j.StartTime, j.EndTime, j.DurationMS)
	}
	if j.Metrics != m || j.Checkpoints != cp {
		t.Errorf("metrics = %+v\ncheckpoints = %+v", j.Metrics, j.Checkpoints)
	}
	if j.State != messages.StateStarting {
		t.Errorf("state = %s, want STARTING (no transition requested)", j.State)
	}
}

func TestApplyCompareAndSet(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	key := "/ns/job"
	register(t, s, deployed("ns", "job", "r", t0), t0)

	// Two writers read version 1; the first wins, the second writes nothing.
	res := apply(t, s,
		Update{Key: key, ExpectVersion: 1, LastPoll: t0.Add(time.Second), Transition: &Transition{To: messages.StateRunning, Time: t0}},
		Update{Key: key, ExpectVersion: 1, LastError: "stale writer", Transition: &Transition{To: messages.StateSilent, Time: t0}},
		Update{Key: "/ns/missing", ExpectVersion: 1, LastPoll: t0},
	)
	want := []Result{{Version: 2, Transitioned: true}, {Version: 2, Conflict: true}, {Conflict: true, NotFound: true}}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("Apply()[%d] = %+v, want %+v", i, res[i], want[i])
		}
	}
	j := get(t, s, key)
	if j.State != messages.StateRunning || j.LastError != "" || j.Version != 2 {
		t.Errorf("job = %s v%d error %q, want RUNNING v2 without error", j.State, j.Version, j.LastError)
	}
	if got, want := steps(transitions(t, s, key)), ">STARTING STARTING>RUNNING"; got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
	if n := len(outbox(t, s, j.Shard)); n != 2 {
		t.Errorf("outbox has %d entries, want 2", n)
	}
	if n, _ := rdb.Exists(context.Background(), s.k.job("/ns/missing")).Result(); n != 0 {
		t.Error("Apply created a job that was not registered")
	}
}

// Many replicas write the same version concurrently: exactly one wins,
// and exactly one transition is recorded.
func TestApplyCompareAndSetConcurrently(t *testing.T) {
	s := newStore(t, client(t), Options{})
	key := "/ns/job"
	register(t, s, deployed("ns", "job", "r", t0), t0)
	states := []messages.JobState{messages.StateRunning, messages.StateK8sInitializing, messages.StateSilent,
		messages.StateFailed, messages.StateDeployFailed, messages.StateRestarting, messages.StateCreated, messages.StateLost}
	const rounds = 20
	for round := range rounds {
		j := get(t, s, key)
		var wg sync.WaitGroup
		results := make([]Result, len(states))
		errs := make([]error, len(states))
		start := make(chan struct{})
		for i, st := range states {
			if st == j.State {
				st = messages.StateInitializing
			}
			wg.Go(func() {
				<-start
				var r []Result
				r, errs[i] = s.Apply(context.Background(), []Update{{Key: key, ExpectVersion: j.Version,
					LastPoll: t0.Add(time.Duration(i) * time.Second), Transition: &Transition{To: st, Time: t0.Add(time.Duration(round) * time.Minute)}}})
				if errs[i] == nil {
					results[i] = r[0]
				}
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("Apply() = %v", errs[i])
			}
			if !r.Conflict {
				wins++
				if r.Version != j.Version+1 || !r.Transitioned {
					t.Errorf("round %d: winner result %+v", round, r)
				}
			} else if r.Version != j.Version+1 {
				t.Errorf("round %d: conflict reports version %d, want %d", round, r.Version, j.Version+1)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won, want exactly 1", round, wins)
		}
	}
	j := get(t, s, key)
	if j.Version != 1+rounds {
		t.Errorf("version = %d, want %d", j.Version, 1+rounds)
	}
	tr := transitions(t, s, key)
	es := outbox(t, s, j.Shard)
	if len(tr) != 1+rounds || len(es) != 1+rounds {
		t.Fatalf("%d transitions and %d outbox entries, want %d each", len(tr), len(es), 1+rounds)
	}
	// Every recorded transition starts where the previous one ended.
	for i := 1; i < len(es); i++ {
		if es[i].From != es[i-1].To {
			t.Errorf("outbox entry %d: from %s, previous to %s", i, es[i].From, es[i-1].To)
		}
	}
}

func TestApplySameStateRecordsNoTransition(t *testing.T) {
	s := newStore(t, client(t), Options{})
	register(t, s, deployed("ns", "job", "r", t0), t0)
	res := apply(t, s, Update{Key: "/ns/job", ExpectVersion: 1, Transition: &Transition{To: messages.StateStarting, Reason: "again", Time: t0.Add(time.Hour)}})
	if res[0] != (Result{Version: 2}) {
		t.Errorf("Apply() = %+v, want version 2 without transition", res[0])
	}
	j := get(t, s, "/ns/job")
	if j.Reason != ReasonDeployed || !j.StateSince.Equal(t0) {
		t.Errorf("reason %q since %s changed without a transition", j.Reason, j.StateSince)
	}
	if n := len(transitions(t, s, "/ns/job")); n != 1 {
		t.Errorf("%d transitions, want 1", n)
	}
}

func TestApplyRejectsInvalidUpdates(t *testing.T) {
	s := newStore(t, client(t), Options{})
	register(t, s, deployed("ns", "job", "r", t0), t0)
	for _, u := range []Update{
		{ExpectVersion: 1},
		{Key: "/ns/job", ExpectVersion: 1, Transition: &Transition{To: "running"}},
		{Key: "/ns/job", ExpectVersion: 1, Transition: &Transition{To: messages.StateRunning, Reason: "Not Snake"}},
		{Key: "/ns/job", ExpectVersion: 1, Transition: &Transition{To: messages.JobState(strings.Repeat("A", 65))}},
	} {
		if _, err := s.Apply(context.Background(), []Update{{Key: "/ns/job", ExpectVersion: 1, LastPoll: t0}, u}); err == nil {
			t.Errorf("Apply(%+v) = nil error", u)
		}
	}
	if j := get(t, s, "/ns/job"); j.Version != 1 {
		t.Errorf("version = %d: a batch with an invalid update was partly written", j.Version)
	}
	if res, err := s.Apply(context.Background(), nil); res != nil || err != nil {
		t.Errorf("Apply(nil) = %v, %v", res, err)
	}
}

func TestTransitionsAreRecordedAndCapped(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{TransitionsMaxLen: 10})
	key := "/ns/job"
	register(t, s, deployed("ns", "job", "r", t0), t0)
	long := strings.Repeat("é", 3000) // 6000 bytes
	cycle := []messages.JobState{messages.StateRunning, messages.StateRestarting}
	const n = 250
	for i := range n {
		transition(t, s, key, cycle[i%2], "step", t0.Add(time.Duration(i+1)*time.Second))
	}
	j := get(t, s, key)
	apply(t, s, Update{Key: key, ExpectVersion: j.Version, Transition: &Transition{To: messages.StateFailing, Reason: "job_failing", Message: long, Time: t0.Add(time.Hour)}})

	tr, err := s.Transitions(context.Background(), key, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 3 {
		t.Fatalf("Transitions(3) = %d records", len(tr))
	}
	last := tr[0]
	if last.From != messages.StateRestarting || last.To != messages.StateFailing || last.Reason != "job_failing" ||
		last.Version != n+2 || !last.Time.Equal(t0.Add(time.Hour)) || last.RequestID != "r" {
		t.Errorf("newest transition = %+v", last)
	}
	if len(last.Message) > maxMessage || !strings.HasPrefix(long, last.Message) || len(last.Message) < maxMessage-1 {
		t.Errorf("message is %d bytes, want the first %d bytes on a rune boundary", len(last.Message), maxMessage)
	}
	if tr[1].To != messages.StateRestarting || tr[1].Version != n+1 || tr[2].Version != n {
		t.Errorf("older transitions = %+v, %+v", tr[1], tr[2])
	}
	// Approximate trimming keeps at least MaxLen and drops whole stream
	// nodes (100 entries by default).
	got, err := rdb.XLen(context.Background(), s.k.transitions(key)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got < 10 || got > 10+100 {
		t.Errorf("transitions stream holds %d entries, want 10..110 of %d", got, n+2)
	}
	// The outbox is never trimmed.
	if es := outbox(t, s, j.Shard); len(es) != n+2 {
		t.Errorf("outbox holds %d entries, want %d", len(es), n+2)
	}
}

func TestStateIndexesFollowTransitions(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	key := "/ns/job"
	register(t, s, deployed("ns", "job", "r", t0), t0)
	for _, tt := range []struct {
		to       messages.JobState
		terminal bool
	}{
		{messages.StateRunning, false},
		{messages.StateFinished, true},
		{messages.StateTerminated, true},
		{messages.StateRunning, false}, // a tracker may find a job again
	} {
		transition(t, s, key, tt.to, "", t0.Add(time.Minute))
		for _, st := range []messages.JobState{messages.StateStarting, messages.StateRunning, messages.StateFinished, messages.StateTerminated} {
			if got, want := isMember(t, rdb, s.k.state(s.ShardOf(key), st), key), st == tt.to; got != want {
				t.Errorf("after -> %s: member of %s = %v, want %v", tt.to, st, got, want)
			}
		}
		_, err := rdb.ZScore(context.Background(), s.k.terminal(s.ShardOf(key)), key).Result()
		if got := err == nil; got != tt.terminal {
			t.Errorf("after -> %s: in terminal set = %v, want %v", tt.to, got, tt.terminal)
		}
	}
}

func TestApplyReloadsScriptsAfterScriptFlush(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	register(t, s, deployed("ns", "job", "r", t0), t0)
	if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	var us []Update
	for i := range 3 {
		us = append(us, Update{Key: "/ns/job", ExpectVersion: int64(1 + i), LastPoll: t0})
	}
	res := apply(t, s, us...)
	// Each update ran exactly once, in order: a second run of any of them
	// would have conflicted.
	for i, r := range res {
		if want := (Result{Version: int64(2 + i)}); r != want {
			t.Errorf("Apply()[%d] = %+v, want %+v", i, r, want)
		}
	}
	if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if r := register(t, s, deployed("ns", "other", "r", t0), t0); r.Outcome != Created {
		t.Errorf("Register() after SCRIPT FLUSH = %+v", r)
	}
}

// TestTransitionsMemoryIsBounded: with the default cap, a job's
// transitions stream stops growing. Redis allocates stream nodes whole
// (stream-node-max-bytes, 4 KiB) and approximate trimming drops whole
// nodes, so a stream capped at ~100 cycles between two and three nodes
// (measured on redis-server 7.0: ~73 such entries per node, 9.8–14.4 KB);
// 1,000 transitions must stay within four nodes. The fault suite's soak
// is too short for its jobs to reach this (docs/reliability.md).
func TestTransitionsMemoryIsBounded(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	key := "/ns/mem"
	register(t, s, deployed("ns", "mem", "r", t0), t0)
	cycle := []messages.JobState{messages.StateRunning, messages.StateRestarting}
	var most int64
	for i := range 1000 {
		transition(t, s, key, cycle[i%2], "step", t0.Add(time.Duration(i+1)*time.Second))
		if i%10 == 9 {
			used, err := rdb.MemoryUsage(context.Background(), s.k.transitions(key), 0).Result()
			if err != nil {
				t.Fatal(err)
			}
			most = max(most, used)
		}
	}
	t.Logf("transitions stream of 1,000 transitions: at most %d bytes", most)
	if most > 4*4800 {
		t.Errorf("transitions stream used up to %d bytes, want at most four 4 KiB nodes (%d)", most, 4*4800)
	}
}
