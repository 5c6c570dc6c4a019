package shard

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

const shards = jobstore.DefaultShards // 128, the production default

func allShards() []int { return preference(shards, 0) }

func TestOneReplicaOwnsEveryShard(t *testing.T) {
	srv := testenv.Redis(t)
	rdb := newClient(t, srv.Addr, srv.DB)
	r := newReplica(t, rdb, "solo")
	r.start(t)

	took := waitFor(t, 2*testTick, "one replica owns all 128 shards", func() bool { return len(r.m.Owned()) == shards })
	t.Logf("all %d shards owned %s after start", shards, took)
	if got := r.m.Owned(); !slices.Equal(got, allShards()) {
		t.Fatalf("Owned() = %v, want 0..127", got)
	}
	for _, s := range []int{-1, shards} {
		if r.m.Owns(s) {
			t.Errorf("Owns(%d) = true for a shard out of range", s)
		}
	}
	select {
	case c := <-r.m.Changes():
		if !slices.Equal(c.Gained, allShards()) || len(c.Lost) != 0 {
			t.Errorf("first change = %+v, want every shard gained", c)
		}
	case <-time.After(time.Second):
		t.Fatal("no change received")
	}
	if err := r.m.Run(context.Background()); err == nil {
		t.Error("second Run() = nil, want an error")
	}

	// The keys: one lease per shard holding the replica id, one heartbeat.
	ctx := context.Background()
	if got, err := rdb.ZRange(ctx, "ff:replicas", 0, -1).Result(); err != nil || !slices.Equal(got, []string{"solo"}) {
		t.Errorf("ff:replicas = %v, %v; want [solo]", got, err)
	}
	v, err := rdb.Get(ctx, "ff:lease:17").Result()
	if err != nil || !strings.HasSuffix(v, "solo") {
		t.Errorf("ff:lease:17 = %q, %v; want a token followed by the replica id", v, err)
	}
	if ttl := rdb.PTTL(ctx, "ff:lease:17").Val(); ttl <= 0 || ttl > testTTL {
		t.Errorf("PTTL ff:lease:17 = %s, want in (0, %s]", ttl, testTTL)
	}
	time.Sleep(2 * testTTL) // leases outlive their TTL only by being refreshed
	if got := len(r.m.Owned()); got != shards {
		t.Fatalf("after 2 lease periods Owned() has %d shards, want %d", got, shards)
	}

	// Graceful stop: every shard lost, keys deleted, Changes closed.
	r.stop()
	if got := r.m.Owned(); len(got) != 0 {
		t.Errorf("Owned() after Run returned = %v, want none", got)
	}
	changes := drain(t, r.m.Changes())
	if len(changes) != 1 || !slices.Equal(changes[0].Lost, allShards()) || len(changes[0].Gained) != 0 {
		t.Errorf("changes at stop = %+v, want one losing every shard", changes)
	}
	if n := rdb.Exists(ctx, "ff:replicas", "ff:lease:0", "ff:lease:17", "ff:lease:127").Val(); n != 0 {
		t.Errorf("%d heartbeat/lease keys left after a graceful stop, want 0", n)
	}
}

func TestUnreadChangesMergeToNetDifference(t *testing.T) {
	srv := testenv.Redis(t)
	r := newReplica(t, newClient(t, srv.Addr, srv.DB), "solo")
	r.start(t)
	waitFor(t, 2*testTick, "one replica owns all shards", func() bool { return len(r.m.Owned()) == shards })
	// Nobody read the gain; the lease loop must not have blocked on it.
	time.Sleep(2 * testTick)
	r.stop()
	// Gained everything, then lost everything, unread: the net is nothing.
	if changes := drain(t, r.m.Changes()); len(changes) != 0 {
		t.Errorf("changes = %+v, want none (gain and loss cancel out)", changes)
	}
}

func TestReplicasConvergeToFairSplitWithOneOwnerPerShard(t *testing.T) {
	srv := testenv.Redis(t)
	rs := startFleet(t, srv, 3)
	ex := watchExclusivity(t, shards, rs)

	took := waitFor(t, 5*testTTL, "3 replicas split 43/43/42", func() bool { return split(rs, shards, []int{43, 43, 42}) })
	t.Logf("3 replicas converged to %v in %s", counts(rs), took)

	// Steady state: the split holds, nobody gains or loses anything.
	for _, r := range rs {
		for len(r.m.Changes()) > 0 {
			<-r.m.Changes()
		}
	}
	deadline := time.Now().Add(3 * testTTL)
	for time.Now().Before(deadline) {
		if !split(rs, shards, []int{43, 43, 42}) {
			t.Fatalf("split changed in steady state: %v", counts(rs))
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, r := range rs {
		select {
		case c := <-r.m.Changes():
			t.Errorf("%s changed in steady state: %+v", r.id, c)
		default:
		}
	}
	ex.check(t)
}

func TestKilledReplicaShardsTakenOverWithinTwoLeasePeriods(t *testing.T) {
	srv := testenv.Redis(t)
	rs := startFleet(t, srv, 3)
	ex := watchExclusivity(t, shards, rs)
	waitFor(t, 5*testTTL, "3 replicas split 43/43/42", func() bool { return split(rs, shards, []int{43, 43, 42}) })

	abandoned := rs[1].m.Owned()
	rs[1].kill() // r1: abandons its leases
	// The leases are still in Redis, held by r1: nothing was released.
	v, err := rs[0].rdb.Get(context.Background(), rs[1].m.key(abandoned[0])).Result()
	if err != nil || !strings.HasSuffix(v, "r1") {
		t.Fatalf("lease of shard %d after the kill = %q, %v; want r1's, not released", abandoned[0], v, err)
	}
	took := waitFor(t, 4*testTTL, "r0 and r2 own every shard", func() bool { return split(rs, shards, []int{64, 0, 64}) })
	t.Logf("killed replica's shards taken over after %s (lease TTL %s, tick %s)", took, testTTL, testTick)
	if took > 2*testTTL {
		t.Errorf("takeover took %s, want < 2 x lease TTL = %s", took, 2*testTTL)
	}
	ex.check(t)
}

func TestGracefulStopHandsOverWithinATick(t *testing.T) {
	srv := testenv.Redis(t)
	rs := startFleet(t, srv, 3)
	ex := watchExclusivity(t, shards, rs)
	waitFor(t, 5*testTTL, "3 replicas split 43/43/42", func() bool { return split(rs, shards, []int{43, 43, 42}) })

	start := time.Now()
	rs[2].stop()
	took := waitFor(t, 4*testTTL, "r0 and r1 own every shard", func() bool { return split(rs, shards, []int{64, 64, 0}) })
	t.Logf("stopped replica's shards taken over after %s (tick %s)", took, testTick)
	if took > 2*testTick {
		t.Errorf("takeover took %s, want about one tick (< 2 x %s)", took, testTick)
	}
	if elapsed := time.Since(start); elapsed > testTTL {
		t.Errorf("handover took %s, as long as waiting for leases to expire", elapsed)
	}
	ex.check(t)
}

func TestJoiningReplicaGetsFairShare(t *testing.T) {
	srv := testenv.Redis(t)
	rs := startFleet(t, srv, 3)
	joiner := newReplica(t, newClient(t, srv.Addr, srv.DB), "r3")
	all := append(slices.Clone(rs), joiner)
	ex := watchExclusivity(t, shards, all)
	waitFor(t, 5*testTTL, "3 replicas split 43/43/42", func() bool { return split(rs, shards, []int{43, 43, 42}) })

	joiner.start(t)
	took := waitFor(t, 6*testTTL, "4 replicas split 32 each", func() bool { return split(all, shards, []int{32, 32, 32, 32}) })
	t.Logf("joining replica had its fair share after %s (tick %s; bound 2 ticks)", took, testTick)
	if took > 3*testTTL {
		t.Errorf("join took %s, want < 3 x lease TTL = %s", took, 3*testTTL)
	}
	ex.check(t)
}

func TestRedisUnreachableStopsOwnershipBeforeLeasesExpire(t *testing.T) {
	srv := testenv.Redis(t)
	px := testenv.NewTCPProxy(t, srv.Addr)
	a := newReplica(t, newClient(t, px.Addr(), srv.DB), "a") // through the proxy
	b := newReplica(t, newClient(t, srv.Addr, srv.DB), "b")
	rs := []*replica{a, b}
	a.start(t)
	b.start(t)
	ex := watchExclusivity(t, shards, rs)
	waitFor(t, 5*testTTL, "2 replicas split 64/64", func() bool { return split(rs, shards, []int{64, 64}) })
	for len(a.m.Changes()) > 0 {
		<-a.m.Changes()
	}

	// Under load a may hand a shard over between the split and the break:
	// what it must report lost is what it owned when cut off.
	owned := len(a.m.Owned())
	px.Partition()
	broken := time.Now()
	dark := waitFor(t, testTTL, "a owns nothing", func() bool { return len(a.m.Owned()) == 0 })
	t.Logf("cut off from Redis: a stopped owning its shards after %s (lease TTL %s, local validity %s)", dark, testTTL, testTTL-testTTL/5)
	// Its last refresh was sent before the break, so its local validity
	// ends within TTL - margin of the break, whatever this goroutine's delays.
	time.Sleep(time.Until(broken.Add(testTTL - testTTL/10)))
	if got := a.m.Owned(); len(got) != 0 {
		t.Errorf("a still owns %v %s after the break", got, time.Since(broken))
	}
	// The losses may be reported in more than one change (a slow round
	// under -race loses one shard, the next the rest), and Owned() turns
	// empty by the clock while the round that reports the last ones may
	// still be running: count them all, waiting at most one more tick.
	lost := map[int]bool{}
	deadline := time.After(2 * testTick)
	for len(lost) < owned {
		select {
		case c := <-a.m.Changes():
			for _, sh := range c.Lost {
				lost[sh] = true
			}
			continue
		case <-deadline:
		}
		break
	}
	if len(lost) < owned || owned == 0 {
		t.Errorf("a reported %d shards lost on Changes, want the %d it owned when cut off", len(lost), owned)
	}
	took := waitFor(t, 4*testTTL, "b owns every shard", func() bool { return split(rs, shards, []int{0, 128}) })
	t.Logf("b took a's shards over %s after the break", time.Since(broken))
	_ = took

	px.Heal()
	back := waitFor(t, 6*testTTL, "2 replicas split 64/64 again", func() bool { return split(rs, shards, []int{64, 64}) })
	t.Logf("after Redis was reachable again a had its share back in %s", back)
	if back > 3*testTTL {
		t.Errorf("regaining leases took %s, want < 3 x lease TTL", back)
	}
	ex.check(t)
}
