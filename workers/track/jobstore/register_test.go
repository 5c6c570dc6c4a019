package jobstore

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string // "" = valid
	}{
		{Options{}, ""},
		{Options{Prefix: "x:", Shards: 1, TransitionsMaxLen: 1, TerminalRetention: time.Minute}, ""},
		{Options{Shards: -1}, "Shards"},
		{Options{Shards: 20000}, "Shards"},
		{Options{TransitionsMaxLen: -5}, "TransitionsMaxLen"},
		{Options{TerminalRetention: -time.Second}, "TerminalRetention"},
		{Options{Prefix: strings.Repeat("p", 65)}, "Prefix"},
	} {
		err := tt.opts.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
	// Every problem at once.
	err := Options{Shards: -1, TransitionsMaxLen: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Shards") || !strings.Contains(err.Error(), "TransitionsMaxLen") {
		t.Errorf("Validate() = %v, want both problems", err)
	}
}

func TestNewRefusesRing(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := New(ring, Options{}); err == nil {
		t.Error("New(*redis.Ring) = nil error, want refusal")
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	if _, err := New(cluster, Options{}); err != nil {
		t.Errorf("New(*redis.ClusterClient) = %v, want a store", err)
	}
	if _, err := New(client(t), Options{Prefix: "ff{x}:"}); err == nil {
		t.Error("New() with a hash tag in the prefix = nil error")
	}
	if _, err := New(client(t), Options{Shards: -1}); err == nil {
		t.Error("New() with invalid options = nil error")
	}
}

func TestShardOfIsFNV1aModuloShards(t *testing.T) {
	for _, key := range []string{"/flink-jobs/wordcount", "prod/ns/a", "", "x/y/z"} {
		h := fnv.New32a()
		h.Write([]byte(key))
		for _, n := range []int{1, 7, 128} {
			if got, want := ShardOf(key, n), int(h.Sum32()%uint32(n)); got != want {
				t.Errorf("ShardOf(%q, %d) = %d, want %d", key, n, got, want)
			}
		}
	}
	if got := ShardOf("k", 0); got != 0 {
		t.Errorf("ShardOf(k, 0) = %d, want 0", got)
	}
}

func TestRegisterIsIdempotent(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	d := deployed("flink-jobs", "wordcount", "req-1", t0)
	key := d.Job.Key()

	first := register(t, s, d, t0.Add(time.Second))
	if got, want := first, (RegisterResult{Outcome: Created, Version: 1, State: messages.StateStarting, Shard: ShardOf(key, 128)}); got != want {
		t.Fatalf("first Register() = %+v, want %+v", got, want)
	}
	again := register(t, s, d, t0.Add(time.Minute))
	if got, want := again.Outcome, Duplicate; got != want || again.Version != 1 {
		t.Fatalf("second Register() = %+v, want %s at version 1", again, want)
	}

	j := get(t, s, key)
	if j.State != messages.StateStarting || j.Version != 1 || j.Reason != ReasonDeployed ||
		!j.StateSince.Equal(t0.Add(time.Second)) || !j.DeployedAt.Equal(t0) {
		t.Errorf("job = state %s v%d reason %q since %s deployed %s", j.State, j.Version, j.Reason, j.StateSince, j.DeployedAt)
	}
	if j.Job != d.Job || j.Mode != d.Mode || j.RequestID != "req-1" || j.FlinkJobID != d.FlinkJobID ||
		j.Image != d.Image || j.RestEndpoint != d.RestEndpoint || j.WebUIURL != d.WebUIURL || j.Labels["team"] != "data" {
		t.Errorf("job identity = %+v", j)
	}
	if got, want := steps(transitions(t, s, key)), ">STARTING"; got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
	es := outbox(t, s, j.Shard)
	if len(es) != 1 {
		t.Fatalf("outbox has %d entries, want 1", len(es))
	}
	// The entry carries everything of the event (its validity is
	// checked where the event is built: workers/track, TestStatusEvent).
	ev := es[0]
	if ev.From != "" || ev.To != messages.StateStarting || ev.Reason != ReasonDeployed || ev.RequestID != "req-1" ||
		ev.Job != d.Job || ev.Mode != d.Mode || ev.FlinkJobID != d.FlinkJobID || ev.WebUIURL != d.WebUIURL ||
		ev.Labels["team"] != "data" || !ev.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("outbox event = %+v", ev)
	}
	if !strings.HasPrefix(es[0].EventID, key+"@") || !strings.HasSuffix(es[0].EventID, ".1.STARTING") || len(es[0].EventID) != len(key)+1+16+len(".1.STARTING") {
		t.Errorf("EventID = %q, want %s@<16 hex digits>.1.STARTING", es[0].EventID, key)
	}
	for _, set := range []string{"ff:{" + strconv.Itoa(j.Shard) + "}:jobs", s.k.state(j.Shard, messages.StateStarting),
		s.k.kube(j.Shard, ""), s.k.namespace(j.Shard, "flink-jobs")} {
		if !isMember(t, rdb, set, key) {
			t.Errorf("%s is not in %s", key, set)
		}
	}
}

func TestRegisterResubmission(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	d1 := deployed("ns", "job", "req-1", t0)
	key := d1.Job.Key()
	register(t, s, d1, t0)
	transition(t, s, key, messages.StateRunning, "", t0.Add(time.Minute))
	j := get(t, s, key)
	apply(t, s, Update{Key: key, ExpectVersion: j.Version, LastPoll: t0.Add(2 * time.Minute),
		Metrics: &Metrics{TaskManagers: 2, FlinkVersion: "1.19.1"}, Checkpoints: &Checkpoints{Completed: 3}})
	transition(t, s, key, messages.StateFailed, "job_failed", t0.Add(3*time.Minute))
	before := get(t, s, key)
	if score, err := rdb.ZScore(context.Background(), s.k.terminal(j.Shard), key).Result(); err != nil || score == 0 {
		t.Fatalf("failed job not in the terminal set: %v", err)
	}

	d2 := deployed("ns", "job", "req-2", t0.Add(time.Hour))
	d2.FlinkJobID = "ffffffffffffffffffffffffffffffff"
	d2.Labels = nil
	r := register(t, s, d2, t0.Add(time.Hour+time.Second))
	if r.Outcome != Resubmitted || r.Version != before.Version+1 || r.State != messages.StateStarting {
		t.Fatalf("Register(new run) = %+v, want resubmitted at version %d", r, before.Version+1)
	}
	j = get(t, s, key)
	if j.RequestID != "req-2" || j.FlinkJobID != d2.FlinkJobID || j.Labels != nil || j.State != messages.StateStarting ||
		j.Reason != ReasonResubmitted || !j.StateSince.Equal(t0.Add(time.Hour+time.Second)) {
		t.Errorf("job after resubmission = %+v", j)
	}
	if !j.LastPoll.IsZero() || j.Metrics != (Metrics{}) || j.Checkpoints != (Checkpoints{}) {
		t.Errorf("observations of the old run survived: poll %s metrics %+v checkpoints %+v", j.LastPoll, j.Metrics, j.Checkpoints)
	}
	if got, want := steps(transitions(t, s, key)), ">STARTING STARTING>RUNNING RUNNING>FAILED FAILED>STARTING"; got != want {
		t.Errorf("transitions = %q, want %q", got, want)
	}
	es := outbox(t, s, j.Shard)
	last := es[len(es)-1]
	if len(es) != 4 || last.From != messages.StateFailed || last.Reason != ReasonResubmitted ||
		last.RequestID != "req-2" || last.FlinkJobID != d2.FlinkJobID {
		t.Errorf("outbox = %d entries, last %+v", len(es), last)
	}
	// The old run's events keep the old run's identity.
	if es[2].RequestID != "req-1" || es[2].To != messages.StateFailed {
		t.Errorf("outbox entry of the old run = %+v", es[2])
	}
	if isMember(t, rdb, s.k.state(j.Shard, messages.StateFailed), key) || !isMember(t, rdb, s.k.state(j.Shard, messages.StateStarting), key) {
		t.Error("state index not moved to STARTING")
	}
	if err := rdb.ZScore(context.Background(), s.k.terminal(j.Shard), key).Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("resubmitted job still in the terminal set: %v", err)
	}

	// A new run of a job still STARTING records no transition.
	r = register(t, s, deployed("ns", "job", "req-3", t0.Add(2*time.Hour)), t0.Add(2*time.Hour))
	if r.Outcome != Resubmitted {
		t.Fatalf("Register(third run) = %+v", r)
	}
	if n := len(transitions(t, s, key)); n != 4 {
		t.Errorf("%d transitions after resubmitting a STARTING job, want 4", n)
	}
	if n := len(outbox(t, s, j.Shard)); n != 4 {
		t.Errorf("%d outbox entries after resubmitting a STARTING job, want 4", n)
	}
	if j := get(t, s, key); j.RequestID != "req-3" || !j.StateSince.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("third run = request %s since %s", j.RequestID, j.StateSince)
	}
}

func TestRegisterIgnoresStaleDeployed(t *testing.T) {
	s := newStore(t, client(t), Options{})
	newer := deployed("ns", "job", "req-2", t0.Add(time.Hour))
	key := newer.Job.Key()
	register(t, s, newer, t0)
	r := register(t, s, deployed("ns", "job", "req-1", t0), t0.Add(time.Minute))
	if r.Outcome != Stale || r.Version != 1 {
		t.Errorf("Register(older run) = %+v, want stale at version 1", r)
	}
	if j := get(t, s, key); j.RequestID != "req-2" {
		t.Errorf("request id = %s, want req-2", j.RequestID)
	}
	if n := len(transitions(t, s, key)); n != 1 {
		t.Errorf("%d transitions, want 1", n)
	}
}

// Two runs deployed in the same millisecond: the greater request id wins,
// whatever the order of delivery.
func TestRegisterTieConverges(t *testing.T) {
	for _, order := range [][]string{{"req-a", "req-b"}, {"req-b", "req-a"}} {
		s := newStore(t, client(t), Options{})
		for _, req := range order {
			register(t, s, deployed("ns", "job", req, t0), t0)
		}
		if j := get(t, s, "/ns/job"); j.RequestID != "req-b" {
			t.Errorf("order %v: request id = %s, want req-b", order, j.RequestID)
		}
	}
}

func TestRegisterRejectsIncompleteEvents(t *testing.T) {
	s := newStore(t, client(t), Options{})
	for _, d := range []*messages.Deployed{
		nil,
		{Job: messages.JobRef{Namespace: "ns", ClusterID: "a"}, Time: t0},
		{RequestID: "r", Job: messages.JobRef{ClusterID: "a"}, Time: t0},
		{RequestID: "r", Job: messages.JobRef{Namespace: "ns", ClusterID: "a"}},
	} {
		if _, err := s.Register(context.Background(), d, t0); err == nil {
			t.Errorf("Register(%+v) = nil error", d)
		}
	}
}

// A job's keys are named after its shard: under another Options.Shards
// the store does not find it, and registering it again (the worker's
// recovery does that) creates it afresh in its new shard (docs/redis.md:
// changing FLINKFERRY_TRACK_SHARDS).
func TestChangingShardsStartsAfresh(t *testing.T) {
	rdb := client(t)
	d := deployed("ns", "wordcount", "req-1", t0)
	key := d.Job.Key()
	old, now := ShardOf(key, 4), ShardOf(key, 64)
	if old == now {
		t.Fatalf("pick a key whose shard differs: %d", old)
	}
	register(t, newStore(t, rdb, Options{Shards: 4}), d, t0)
	s := newStore(t, rdb, Options{Shards: 64})
	if _, err := s.Get(context.Background(), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get() under 64 shards = %v, want ErrNotFound", err)
	}
	r := register(t, s, d, t0)
	if r.Outcome != Created || r.Version != 1 || r.Shard != now {
		t.Errorf("Register() = %+v, want created in shard %d at version 1", r, now)
	}
	if !isMember(t, rdb, s.k.jobs(now), key) {
		t.Errorf("%s is not in the jobs set of shard %d", key, now)
	}
}

func TestGetAndGetMany(t *testing.T) {
	s := newStore(t, client(t), Options{})
	register(t, s, deployed("ns", "a", "r-a", t0), t0)
	register(t, s, deployed("ns", "b", "r-b", t0), t0)
	if _, err := s.Get(context.Background(), "/ns/missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	js, err := s.GetMany(context.Background(), []string{"/ns/b", "/ns/missing", "/ns/a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 3 || js[0] == nil || js[0].Key != "/ns/b" || js[1] != nil || js[2] == nil || js[2].RequestID != "r-a" {
		t.Errorf("GetMany() = %v", js)
	}
	if js, err := s.GetMany(context.Background(), nil); err != nil || js != nil {
		t.Errorf("GetMany(nil) = %v, %v", js, err)
	}
}

// Two installations share a database through their prefixes.
func TestPrefixesSeparateInstallations(t *testing.T) {
	rdb := client(t)
	a, b := newStore(t, rdb, Options{Prefix: "a:"}), newStore(t, rdb, Options{Prefix: "b:"})
	register(t, a, deployed("ns", "job", "r", t0), t0)
	if _, err := b.Get(context.Background(), "/ns/job"); !errors.Is(err, ErrNotFound) {
		t.Errorf("b.Get() = %v, want ErrNotFound", err)
	}
	if js, _ := b.List(context.Background(), Filter{}); len(js) != 0 {
		t.Errorf("b.List() = %d jobs, want 0", len(js))
	}
}
