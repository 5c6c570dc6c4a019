package jobstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

func TestOutboxAndAck(t *testing.T) {
	s := newStore(t, client(t), Options{Shards: 2})
	// Jobs in both shards.
	byShard := map[int][]string{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		d := deployed("ns", id, "r-"+id, t0)
		r := register(t, s, d, t0)
		byShard[r.Shard] = append(byShard[r.Shard], d.Job.Key())
		transition(t, s, d.Job.Key(), messages.StateRunning, "", t0.Add(time.Minute))
	}
	if len(byShard[0]) == 0 || len(byShard[1]) == 0 {
		t.Fatalf("jobs by shard = %v, want both shards used", byShard)
	}
	ctx := context.Background()
	for shard, keys := range byShard {
		es := outbox(t, s, shard)
		if len(es) != 2*len(keys) {
			t.Fatalf("shard %d: %d entries, want %d", shard, len(es), 2*len(keys))
		}
		seen := map[string]bool{}
		for _, e := range es {
			if ShardOf(e.Job.Key(), 2) != shard {
				t.Errorf("shard %d holds an event of %s", shard, e.Job.Key())
			}
			if seen[e.EventID] {
				t.Errorf("event id %s twice", e.EventID)
			}
			seen[e.EventID] = true
		}
		// Publish the first entry, crash before acking: it comes again
		// with the same id. Then ack it (twice: harmless).
		first, err := s.Outbox(ctx, shard, 1)
		if err != nil || len(first) != 1 {
			t.Fatalf("Outbox(max 1) = %v, %v", first, err)
		}
		again, _ := s.Outbox(ctx, shard, 1)
		if again[0].EventID != first[0].EventID || again[0].StreamID != first[0].StreamID {
			t.Errorf("unacked entry changed: %+v then %+v", first[0], again[0])
		}
		for range 2 {
			if err := s.AckOutbox(ctx, shard, first[0].StreamID); err != nil {
				t.Fatal(err)
			}
		}
		rest := outbox(t, s, shard)
		if len(rest) != len(es)-1 || rest[0].EventID != es[1].EventID {
			t.Errorf("after ack: %d entries starting %s, want %d starting %s", len(rest), rest[0].EventID, len(es)-1, es[1].EventID)
		}
		var ids []string
		for _, e := range rest {
			ids = append(ids, e.StreamID)
		}
		if err := s.AckOutbox(ctx, shard, ids...); err != nil {
			t.Fatal(err)
		}
		if n, err := s.OutboxLen(ctx, shard); err != nil || n != 0 {
			t.Errorf("OutboxLen(%d) = %d, %v after acking everything", shard, n, err)
		}
	}
	if err := s.AckOutbox(ctx, 0); err != nil {
		t.Errorf("AckOutbox() without ids = %v", err)
	}
}

// After a flushed Redis (or a Sweep) the job is registered again and its
// versions start at 1 again: the event ids must still differ from the
// ones already published, or consumers would drop the new events.
func TestFlushThenRegisterRecovers(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	d := deployed("ns", "job", "req-1", t0)
	key := d.Job.Key()
	register(t, s, d, t0)
	transition(t, s, key, messages.StateRunning, "", t0.Add(time.Minute))
	j := get(t, s, key)
	before := outbox(t, s, j.Shard)

	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get() after FLUSHDB = %v", err)
	}
	// The tracker's write of the lost job conflicts, so it reloads.
	if r := apply(t, s, Update{Key: key, ExpectVersion: j.Version, LastPoll: t0})[0]; !r.Conflict || !r.NotFound {
		t.Errorf("Apply() after FLUSHDB = %+v, want a not-found conflict", r)
	}
	// Recovery registers the Deployment's run again.
	r := register(t, s, d, t0.Add(time.Hour))
	if r.Outcome != Created || r.Version != 1 {
		t.Fatalf("Register() after FLUSHDB = %+v", r)
	}
	keys, err := s.ShardKeys(ctx, r.Shard)
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Errorf("ShardKeys() = %v, %v", keys, err)
	}
	transition(t, s, key, messages.StateRunning, "", t0.Add(time.Hour+time.Minute))
	after := outbox(t, s, r.Shard)
	if len(after) != 2 {
		t.Fatalf("outbox after recovery has %d entries", len(after))
	}
	for i := range after {
		if after[i].EventID == before[i].EventID {
			t.Errorf("event id %s reused after the flush", after[i].EventID)
		}
		if _, a, _ := strings.Cut(after[i].EventID, "."); a != strings.SplitN(before[i].EventID, ".", 2)[1] {
			t.Errorf("event ids %s and %s differ in version or state", before[i].EventID, after[i].EventID)
		}
	}
	if js, err := s.List(ctx, Filter{}); err != nil || len(js) != 1 {
		t.Errorf("List() after recovery = %d jobs, %v", len(js), err)
	}
}

func TestOutboxOfAnEmptyShard(t *testing.T) {
	s := newStore(t, client(t), Options{})
	es, err := s.Outbox(context.Background(), 5, 0)
	if err != nil || len(es) != 0 {
		t.Errorf("Outbox() = %v, %v", es, err)
	}
	tr, err := s.Transitions(context.Background(), "/ns/none", 0)
	if err != nil || len(tr) != 0 {
		t.Errorf("Transitions() = %v, %v", tr, err)
	}
}

// TestOutboxes reads several shards' outboxes in one call: each shard its
// own oldest entries, empty shards absent, and a malformed entry (written
// by hand) leaves only its own shard out, with an error naming it.
func TestOutboxes(t *testing.T) {
	s := newStore(t, client(t), Options{Shards: 4})
	ctx := context.Background()
	want := map[int]int{}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		d := deployed("ns", id, "r-"+id, t0)
		r := register(t, s, d, t0)
		want[r.Shard] += 1 // the first state's event
	}
	var shards []int
	for sh := range 4 {
		shards = append(shards, sh)
	}
	boxes, err := s.Outboxes(ctx, shards, 100)
	if err != nil {
		t.Fatal(err)
	}
	for sh := range 4 {
		if len(boxes[sh]) != want[sh] {
			t.Errorf("shard %d: %d entries, want %d", sh, len(boxes[sh]), want[sh])
		}
		if _, ok := boxes[sh]; ok != (want[sh] > 0) {
			t.Errorf("shard %d present = %v with %d entries", sh, ok, want[sh])
		}
		for _, e := range boxes[sh] {
			if ShardOf(e.Job.Key(), 4) != sh {
				t.Errorf("shard %d holds an event of %s", sh, e.Job.Key())
			}
		}
	}
	var bad int
	for sh, n := range want {
		if n > 0 {
			bad = sh
			break
		}
	}
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.k.outbox(bad), Values: []any{"event_id", "x", "time", "yesterday"}}).Err(); err != nil {
		t.Fatal(err)
	}
	boxes, err = s.Outboxes(ctx, shards, 100)
	if err == nil || !strings.Contains(err.Error(), "shard "+strconv.Itoa(bad)) {
		t.Errorf("Outboxes() error = %v, want one naming shard %d", err, bad)
	}
	if _, ok := boxes[bad]; ok {
		t.Errorf("shard %d with a malformed entry returned %v", bad, boxes[bad])
	}
	for sh, n := range want {
		if sh != bad && len(boxes[sh]) != n {
			t.Errorf("shard %d: %d entries beside a malformed shard, want %d", sh, len(boxes[sh]), n)
		}
	}
}
