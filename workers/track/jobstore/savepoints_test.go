package jobstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// sp returns a savepoint entry at t0 + minutes.
func sp(minutes int, result ops.Result) SavepointEntry {
	e := SavepointEntry{
		Time: t0.Add(time.Duration(minutes) * time.Minute), Trigger: TriggerManual, Format: messages.FormatCanonical,
		Result: result, RequestID: fmt.Sprintf("req-%d", minutes),
	}
	if result == ops.Completed {
		e.Path = fmt.Sprintf("s3://savepoints/job/savepoint-%04d", minutes)
	}
	return e
}

func addSavepoint(t testing.TB, s *Store, key string, e SavepointEntry) bool {
	t.Helper()
	ok, err := s.AddSavepoint(context.Background(), key, e)
	if err != nil {
		t.Fatalf("AddSavepoint(%s, %+v) = %v", key, e, err)
	}
	return ok
}

func savepoints(t testing.TB, s *Store, key string, n int) []SavepointEntry {
	t.Helper()
	es, err := s.Savepoints(context.Background(), key, n)
	if err != nil {
		t.Fatalf("Savepoints(%s) = %v", key, err)
	}
	return es
}

// times renders entries as their minutes after t0.
func times(es []SavepointEntry) string {
	var b []string
	for _, e := range es {
		b = append(b, fmt.Sprint(int(e.Time.Sub(t0)/time.Minute)))
	}
	return strings.Join(b, " ")
}

func TestAddSavepointIsIdempotent(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	e := sp(1, ops.Completed)
	e.Time = e.Time.Add(123456 * time.Nanosecond) // kept to the millisecond
	for i, want := range []bool{true, false} {
		if got := addSavepoint(t, s, key, e); got != want {
			t.Errorf("AddSavepoint() call %d = %v, want %v", i+1, got, want)
		}
	}
	later := e
	later.Time = e.Time.Add(time.Minute)
	if addSavepoint(t, s, key, later) {
		t.Error("AddSavepoint(same request id and path, another time) added an entry")
	}
	other := e
	other.Path += "-b"
	if !addSavepoint(t, s, key, other) {
		t.Error("AddSavepoint(same request id, another path) = false")
	}
	periodic := SavepointEntry{Time: t0, Trigger: TriggerPeriodic, Result: ops.Completed, Path: "s3://savepoints/job/periodic-1"}
	if !addSavepoint(t, s, key, periodic) || addSavepoint(t, s, key, periodic) {
		t.Error("a periodic savepoint (no request id) was not added exactly once")
	}
	got := savepoints(t, s, key, 0)
	if len(got) != 3 {
		t.Fatalf("history = %+v, want 3 entries", got)
	}
	want := e
	want.Time = t0.Add(time.Minute).Truncate(time.Millisecond)
	if got[1] != want {
		t.Errorf("entry = %+v, want %+v", got[1], want)
	}

	if _, err := s.AddSavepoint(ctx, "/ns/none", e); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddSavepoint(unknown job) = %v, want ErrNotFound", err)
	}
	if n, _ := rdb.Exists(ctx, s.k.savepoints("/ns/none")).Result(); n != 0 {
		t.Error("AddSavepoint(unknown job) created a history")
	}
	for name, bad := range map[string]SavepointEntry{
		"no time":                   {Trigger: TriggerManual, Result: ops.Failed, RequestID: "r"},
		"unknown trigger":           {Time: t0, Trigger: "cron", Result: ops.Failed, RequestID: "r"},
		"unknown result":            {Time: t0, Trigger: TriggerManual, Result: "maybe", RequestID: "r"},
		"completed without a path":  {Time: t0, Trigger: TriggerManual, Result: ops.Completed, RequestID: "r"},
		"no request id and no path": {Time: t0, Trigger: TriggerPeriodic, Result: ops.Failed},
		"unknown format":            {Time: t0, Trigger: TriggerManual, Result: ops.Failed, RequestID: "r", Format: "zip"},
	} {
		if _, err := s.AddSavepoint(ctx, key, bad); err == nil {
			t.Errorf("AddSavepoint(%s) = nil error", name)
		}
	}
}

func TestSavepointsNewestFirst(t *testing.T) {
	s := newStore(t, client(t), Options{})
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	for _, m := range []int{5, 1, 9, 3, 7} {
		addSavepoint(t, s, key, sp(m, ops.Completed))
	}
	addSavepoint(t, s, key, sp(8, ops.Failed))
	if got, want := times(savepoints(t, s, key, 0)), "9 8 7 5 3 1"; got != want {
		t.Errorf("Savepoints(all) = %s, want %s", got, want)
	}
	if got, want := times(savepoints(t, s, key, 2)), "9 8"; got != want {
		t.Errorf("Savepoints(2) = %s, want %s", got, want)
	}
	if got := savepoints(t, s, "/ns/none", 0); len(got) != 0 {
		t.Errorf("Savepoints(unknown job) = %v", got)
	}
}

func TestTrimSavepoints(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	ago := func(h int) int { return 24*60 - h*60 } // minutes after t0 of now - h hours
	for _, tt := range []struct {
		name     string
		add      []SavepointEntry
		maxCount int
		maxAge   time.Duration
		removed  string // minutes after t0, oldest first
		left     string // newest first
	}{
		{
			name: "by count: 12 entries, max 10",
			add: []SavepointEntry{sp(1, ops.Completed), sp(2, ops.Completed), sp(3, ops.Completed), sp(4, ops.Completed),
				sp(5, ops.Completed), sp(6, ops.Completed), sp(7, ops.Completed), sp(8, ops.Completed),
				sp(9, ops.Completed), sp(10, ops.Completed), sp(11, ops.Completed), sp(12, ops.Completed)},
			maxCount: 10, removed: "1 2", left: "12 11 10 9 8 7 6 5 4 3",
		},
		{
			name:     "by age keeps the newest completed",
			add:      []SavepointEntry{sp(ago(5), ops.Completed), sp(ago(4), ops.Failed), sp(ago(3), ops.Completed), sp(ago(2), ops.Failed)},
			maxAge:   time.Hour,
			removed:  fmt.Sprint(ago(5), " ", ago(4), " ", ago(2)),
			left:     fmt.Sprint(ago(3)),
			maxCount: 0,
		},
		{
			name:    "only failed entries can all go",
			add:     []SavepointEntry{sp(ago(5), ops.Failed), sp(ago(4), ops.Failed)},
			maxAge:  time.Hour,
			removed: fmt.Sprint(ago(5), " ", ago(4)),
		},
		{
			name:     "by count keeps the newest completed beyond the count",
			add:      []SavepointEntry{sp(1, ops.Completed), sp(2, ops.Completed), sp(3, ops.Failed), sp(4, ops.Failed), sp(5, ops.Failed)},
			maxCount: 2, removed: "1 3", left: "5 4 2",
		},
		{
			name:     "count and age together",
			add:      []SavepointEntry{sp(ago(3), ops.Completed), sp(ago(2), ops.Completed), sp(ago(0), ops.Completed), sp(ago(0)+1, ops.Failed)},
			maxCount: 3, maxAge: 150 * time.Minute,
			removed: fmt.Sprint(ago(3)), left: fmt.Sprint(ago(0)+1, " ", ago(0), " ", ago(2)),
		},
		{
			name: "an entry exactly max age old stays", add: []SavepointEntry{sp(ago(1), ops.Failed), sp(ago(0), ops.Failed)},
			maxAge: time.Hour, left: fmt.Sprint(ago(0), " ", ago(1)),
		},
		{
			name: "no limits", add: []SavepointEntry{sp(1, ops.Failed), sp(2, ops.Completed)},
			left: "2 1",
		},
		{name: "empty history", maxCount: 1, maxAge: time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rdb := client(t)
			s := newStore(t, rdb, Options{})
			const key = "/ns/job"
			register(t, s, deployed("ns", "job", "run-1", t0), t0)
			for _, e := range tt.add {
				addSavepoint(t, s, key, e)
			}
			removed, err := s.TrimSavepoints(context.Background(), key, tt.maxCount, tt.maxAge, now)
			if err != nil {
				t.Fatalf("TrimSavepoints() = %v", err)
			}
			if got := times(removed); got != tt.removed {
				t.Errorf("removed %q, want %q", got, tt.removed)
			}
			for _, e := range removed {
				if e.RequestID == "" || e.Trigger != TriggerManual {
					t.Errorf("removed entry %+v lost its fields", e)
				}
			}
			if got := times(savepoints(t, s, key, 0)); got != tt.left {
				t.Errorf("left %q, want %q", got, tt.left)
			}
			if tt.left == "" {
				if n, _ := rdb.Exists(context.Background(), s.k.savepoints(key)).Result(); n != 0 {
					t.Error("an empty history still exists")
				}
			}
		})
	}
}

// A job's history goes with the job, by Forget and by Sweep.
func TestHistoryRemovedWithTheJob(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{TerminalRetention: time.Hour})
	ctx := context.Background()
	for _, id := range []string{"forgotten", "swept", "kept"} {
		key := "/ns/" + id
		register(t, s, deployed("ns", id, "run-1", t0), t0)
		addSavepoint(t, s, key, sp(1, ops.Completed))
		recordOp(t, s, key, newOp("op-"+id, messages.OpSavepoint, ops.Requested), "h")
	}
	if err := s.Forget(ctx, "/ns/forgotten"); err != nil {
		t.Fatal(err)
	}
	transition(t, s, "/ns/swept", messages.StateFinished, "", t0)
	if n, err := s.Sweep(ctx, t0.Add(2*time.Hour)); n != 1 || err != nil {
		t.Fatalf("Sweep() = %d, %v", n, err)
	}
	for _, id := range []string{"forgotten", "swept"} {
		key := "/ns/" + id
		for _, k := range []string{s.k.job(key), s.k.savepoints(key), s.k.ops(key)} {
			if n, _ := rdb.Exists(ctx, k).Result(); n != 0 {
				t.Errorf("%s still exists", k)
			}
		}
	}
	if got := savepoints(t, s, "/ns/kept", 0); len(got) != 1 {
		t.Errorf("history of a kept job = %v", got)
	}
	if n := rdb.LLen(ctx, s.k.ops("/ns/kept")).Val(); n != 1 {
		t.Errorf("recent operations of a kept job = %d", n)
	}
}

func TestRemoveSavepoint(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	const path = "s3://savepoints/job/savepoint-0001"
	manual := sp(1, ops.Completed)
	manual.Path = "s3://key:pw@savepoints/job/savepoint-0001" // stored redacted
	periodic := SavepointEntry{Time: t0.Add(2 * time.Minute), Trigger: TriggerPeriodic, Result: ops.Completed, Path: path}
	for _, e := range []SavepointEntry{manual, periodic, sp(3, ops.Completed), sp(4, ops.Failed)} {
		addSavepoint(t, s, key, e)
	}

	remove := func(key, path string) bool {
		t.Helper()
		ok, err := s.RemoveSavepoint(ctx, key, path)
		if err != nil {
			t.Fatalf("RemoveSavepoint(%s, %s) = %v", key, path, err)
		}
		return ok
	}
	// Every entry with the path goes, whatever took it; given with its
	// credentials, the path is matched as stored.
	if !remove(key, "s3://other:secret@savepoints/job/savepoint-0001") {
		t.Error("RemoveSavepoint() = false, want true")
	}
	if got, want := times(savepoints(t, s, key, 0)), "4 3"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	if remove(key, path) {
		t.Error("RemoveSavepoint(removed path) = true")
	}
	// Even the newest completed savepoint, which trimming keeps.
	if !remove(key, sp(3, ops.Completed).Path) {
		t.Error("RemoveSavepoint(newest completed) = false")
	}
	if got, want := times(savepoints(t, s, key, 0)), "4"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	if remove("/ns/none", path) {
		t.Error("RemoveSavepoint(unknown job) = true")
	}
	if n := rdb.Exists(ctx, s.k.savepoints("/ns/none")).Val(); n != 0 {
		t.Error("RemoveSavepoint(unknown job) created a history")
	}
	// A failed entry without a path is never matched by an empty path.
	if _, err := s.RemoveSavepoint(ctx, key, ""); err == nil {
		t.Error("RemoveSavepoint(empty path) = nil error")
	}
	if got, want := times(savepoints(t, s, key, 0)), "4"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	// A failed entry with a path goes too.
	failed := sp(5, ops.Failed)
	failed.Path = "s3://savepoints/job/savepoint-0005"
	addSavepoint(t, s, key, failed)
	if !remove(key, failed.Path) {
		t.Error("RemoveSavepoint(failed entry's path) = false")
	}
}

func TestHasSavepoint(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	done := sp(1, ops.Completed)
	done.Path = "s3://key:pw@savepoints/job/savepoint-0001"
	failed := sp(2, ops.Failed)
	failed.Path = "s3://savepoints/job/savepoint-0002"
	addSavepoint(t, s, key, done)
	addSavepoint(t, s, key, failed)
	// A hand-written member does not hide a match.
	rdb.ZAdd(ctx, s.k.savepoints(key), redis.Z{Score: 0, Member: "not json"})

	for _, tt := range []struct {
		key, path string
		want      bool
	}{
		{key, "s3://savepoints/job/savepoint-0001", true},
		{key, "s3://other:pw@savepoints/job/savepoint-0001", true},
		{key, failed.Path, false},
		{key, "s3://savepoints/job/savepoint-0003", false},
		{key, "", false},
		{"/ns/none", "s3://savepoints/job/savepoint-0001", false},
	} {
		got, err := s.HasSavepoint(ctx, tt.key, tt.path)
		if got != tt.want {
			t.Errorf("HasSavepoint(%s, %q) = %v, %v, want %v", tt.key, tt.path, got, err, tt.want)
		}
		if got && err != nil {
			t.Errorf("HasSavepoint(%s, %q) found it with error %v", tt.key, tt.path, err)
		}
	}
}
