package shard

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Short leases keep the tests fast: a tick is 200 ms.
const (
	testTTL  = 600 * time.Millisecond
	testTick = testTTL / 3
)

// newClient returns a go-redis client of the test's database at addr, with
// deadlines that follow the context (as internal/redisclient configures).
func newClient(t *testing.T, addr string, db int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, DB: db, ContextTimeoutEnabled: true,
		DialTimeout: 100 * time.Millisecond, ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// replica is one Manager and its Run goroutine.
type replica struct {
	id     string
	m      *Manager
	rdb    redis.UniversalClient
	cancel context.CancelFunc
	done   chan struct{}
}

// newReplica builds a Manager with the test lease TTL; start runs it.
func newReplica(t *testing.T, rdb redis.UniversalClient, id string) *replica {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, err := New(rdb, Options{ReplicaID: id, LeaseTTL: testTTL, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{id: id, m: m, rdb: rdb}
}

// start runs the replica until stop or the end of the test.
func (r *replica) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		if err := r.m.Run(ctx); err != nil {
			t.Errorf("%s: Run() = %v", r.id, err)
		}
	}()
	t.Cleanup(r.stop)
}

// stop cancels Run and waits until it has released its leases.
func (r *replica) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
}

// kill abandons the replica's leases as a crash would: its Redis client is
// closed before Run is cancelled, so nothing is released.
func (r *replica) kill() {
	r.rdb.Close()
	r.stop()
}

// startFleet starts replicas r0..r(n-1) sharing rdb's database, each with a
// client of its own.
func startFleet(t *testing.T, srv testenv.RedisServer, n int) []*replica {
	t.Helper()
	var rs []*replica
	for i := range n {
		r := newReplica(t, newClient(t, srv.Addr, srv.DB), fmt.Sprintf("r%d", i))
		r.start(t)
		rs = append(rs, r)
	}
	return rs
}

// counts returns how many shards each replica owns.
func counts(rs []*replica) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = len(r.m.Owned())
	}
	return out
}

// split reports whether rs own every one of shards exactly once, each
// replica as many as want[i] (nil: any number).
func split(rs []*replica, shards int, want []int) bool {
	seen := make([]int, shards)
	for i, r := range rs {
		owned := r.m.Owned()
		if want != nil && len(owned) != want[i] {
			return false
		}
		for _, s := range owned {
			seen[s]++
		}
	}
	return !slices.ContainsFunc(seen, func(n int) bool { return n != 1 })
}

// waitFor polls cond every 2 ms until it holds and returns how long that
// took; it fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not reached within %s", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// exclusivity samples Owns of every shard across managers until stopped
// and records a shard seen owned by two managers at once.
//
// Owns of different managers cannot be read at one instant, so each sample
// reads everything twice: a manager that answers true in both passes owned
// the shard from its first read to its second (leases do not flip back and
// forth within microseconds), and two such intervals overlap because every
// first-pass read precedes every second-pass read. A handoff between the two
// reads of a sample is therefore not mistaken for double ownership.
type exclusivity struct {
	stopOnce  sync.Once
	quit      chan struct{}
	done      chan struct{}
	samples   atomic.Int64
	violation atomic.Pointer[string]
}

func watchExclusivity(t *testing.T, shards int, rs []*replica) *exclusivity {
	t.Helper()
	e := &exclusivity{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		p1 := make([][]bool, len(rs))
		p2 := make([][]bool, len(rs))
		for i := range rs {
			p1[i], p2[i] = make([]bool, shards), make([]bool, shards)
		}
		for {
			select {
			case <-e.quit:
				return
			default:
			}
			for _, p := range [][][]bool{p1, p2} {
				for i, r := range rs {
					for s := range shards {
						p[i][s] = r.m.Owns(s)
					}
				}
			}
			for s := range shards {
				var owners []string
				for i, r := range rs {
					if p1[i][s] && p2[i][s] {
						owners = append(owners, r.id)
					}
				}
				if len(owners) > 1 && e.violation.Load() == nil {
					v := fmt.Sprintf("shard %d owned by %v at once (sample %d)", s, owners, e.samples.Load())
					e.violation.Store(&v)
				}
			}
			e.samples.Add(1)
			time.Sleep(300 * time.Microsecond)
		}
	}()
	t.Cleanup(func() { e.check(t) })
	return e
}

// check stops the sampling and fails the test on a violation.
func (e *exclusivity) check(t *testing.T) {
	t.Helper()
	e.stopOnce.Do(func() {
		close(e.quit)
		<-e.done
		if v := e.violation.Load(); v != nil {
			t.Errorf("exclusivity broken: %s", *v)
			return
		}
		if e.samples.Load() < 10 {
			t.Errorf("exclusivity sampled only %d times", e.samples.Load())
		}
		t.Logf("exclusivity: %d samples, no shard with two owners", e.samples.Load())
	})
}

// drain reads every change until the channel is closed.
func drain(t *testing.T, ch <-chan Change) []Change {
	t.Helper()
	var out []Change
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, c)
		case <-timeout:
			t.Fatal("Changes not closed within 5s after Run returned")
		}
	}
}
