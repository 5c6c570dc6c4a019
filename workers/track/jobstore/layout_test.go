package jobstore

import (
	"context"
	"testing"
)

// Readers open the store with the shard count the worker recorded, and
// the worker learns about jobs of the old layout.
func TestOpenTakesTheRecordedShards(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	if s, err := Open(ctx, rdb, Options{}); err != nil || s.Options().Shards != DefaultShards {
		t.Fatalf("Open() before any worker = %v, %v; want %d shards", s, err, DefaultShards)
	}
	w := newStore(t, rdb, Options{Shards: 16})
	d := deployed("ns", "job", "r", t0)
	register(t, w, d, t0)
	if legacy, err := w.SaveLayout(ctx); err != nil || legacy {
		t.Fatalf("SaveLayout() = %v, %v; want no legacy jobs", legacy, err)
	}
	r, err := Open(ctx, rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Options().Shards, 16; got != want {
		t.Errorf("Open().Options().Shards = %d, want %d", got, want)
	}
	if js, err := r.List(ctx, Filter{}); err != nil || len(js) != 1 {
		t.Errorf("List() = %d jobs, %v; want 1", len(js), err)
	}
	if err := rdb.SAdd(ctx, "ff:jobs", "/ns/old").Err(); err != nil {
		t.Fatal(err)
	}
	if legacy, err := w.SaveLayout(ctx); err != nil || !legacy {
		t.Errorf("SaveLayout() with ff:jobs = %v, %v; want legacy", legacy, err)
	}
}
