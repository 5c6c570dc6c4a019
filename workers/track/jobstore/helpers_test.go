package jobstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// t0 is the tests' reference time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// client returns a client on a database of its own, or, inside
// TestOnCluster, on the emptied Redis Cluster.
func client(t testing.TB) redis.UniversalClient {
	t.Helper()
	if onCluster != nil {
		if err := onCluster.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return onCluster.Client(t)
	}
	r := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, DB: r.DB, ContextTimeoutEnabled: true, PoolSize: 32})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return rdb
}

func newStore(t testing.TB, rdb redis.UniversalClient, opts Options) *Store {
	t.Helper()
	s, err := New(rdb, opts)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return s
}

// deployed returns a valid application-mode deployed event.
func deployed(ns, id, req string, at time.Time) *messages.Deployed {
	return &messages.Deployed{
		RequestID: req, Job: messages.JobRef{Namespace: ns, ClusterID: id}, Mode: messages.ModeApplication,
		FlinkJobID:   "0123456789abcdef0123456789abcdef",
		Image:        "registry.example.com/flinkferry/" + id + "@sha256:" + strings.Repeat("a", 64),
		RestEndpoint: "http://" + id + "-rest." + ns + ":8081", WebUIURL: "https://flink.example.com/" + id + "/",
		Labels: map[string]string{"team": "data"}, Time: at,
	}
}

func register(t testing.TB, s *Store, d *messages.Deployed, now time.Time) RegisterResult {
	t.Helper()
	r, err := s.Register(context.Background(), d, now)
	if err != nil {
		t.Fatalf("Register(%s) = %v", d.Job.Key(), err)
	}
	return r
}

func get(t testing.TB, s *Store, key string) *Job {
	t.Helper()
	j, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s) = %v", key, err)
	}
	return j
}

func apply(t testing.TB, s *Store, us ...Update) []Result {
	t.Helper()
	res, err := s.Apply(context.Background(), us)
	if err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	return res
}

// transition moves key from its current version to state to and fails
// the test unless it was written.
func transition(t testing.TB, s *Store, key string, to messages.JobState, reason string, at time.Time) Result {
	t.Helper()
	j := get(t, s, key)
	r := apply(t, s, Update{Key: key, ExpectVersion: j.Version, Transition: &Transition{To: to, Reason: reason, Time: at}})[0]
	if r.Conflict {
		t.Fatalf("transition of %s to %s: conflict %+v", key, to, r)
	}
	return r
}

func outbox(t testing.TB, s *Store, shard int) []OutboxEntry {
	t.Helper()
	es, err := s.Outbox(context.Background(), shard, 1000)
	if err != nil {
		t.Fatalf("Outbox(%d) = %v", shard, err)
	}
	return es
}

func transitions(t testing.TB, s *Store, key string) []TransitionRecord {
	t.Helper()
	tr, err := s.Transitions(context.Background(), key, 1000)
	if err != nil {
		t.Fatalf("Transitions(%s) = %v", key, err)
	}
	return tr
}

// steps renders transitions oldest first as "FROM>TO" (FROM empty for the
// first).
func steps(tr []TransitionRecord) string {
	var b []string
	for i := len(tr) - 1; i >= 0; i-- {
		b = append(b, fmt.Sprintf("%s>%s", tr[i].From, tr[i].To))
	}
	return strings.Join(b, " ")
}

func isMember(t testing.TB, rdb redis.UniversalClient, set, member string) bool {
	t.Helper()
	ok, err := rdb.SIsMember(context.Background(), set, member).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func itoa(i int) string { return fmt.Sprint(i) }
