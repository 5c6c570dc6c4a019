package track

import (
	"context"

	"github.com/flinkferry/flinkferry/messages"
)

// ownershipChanged reports whether the owned shards differ from those of
// the last refresh.
func (t *Tracker) ownershipChanged() bool {
	owned := t.owner.Owned()
	if len(owned) != len(t.owned) {
		return true
	}
	for _, s := range owned {
		if !t.owned[s] {
			return true
		}
	}
	return false
}

// refresh reloads the set of jobs of the owned shards from Redis: new
// jobs (registered by any replica), shards gained and lost. A job held
// already is read again when a write of this replica conflicts (fold.go)
// or when another writer marks it (the active-operation index: a new
// operation, a recovered job's endpoint filled in; opround.go loadJob).
func (t *Tracker) refresh(ctx context.Context) error {
	owned := map[int]bool{}
	for _, s := range t.owner.Owned() {
		owned[s] = true
	}
	t.owned = owned
	t.m.shards.Set(float64(len(owned)))
	shards := make([]int, 0, len(owned))
	for s := range owned {
		shards = append(shards, s)
	}
	keys, err := t.store.ShardKeys(ctx, shards...)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(keys))
	var load []string
	for _, k := range keys {
		want[k] = true
		if _, ok := t.jobs[k]; !ok {
			load = append(load, k)
		}
	}
	for k := range t.jobs {
		if !want[k] {
			delete(t.jobs, k)
			delete(t.autoNext, k)
			delete(t.periodicSlot, k)
			delete(t.flinkStates, k)
		}
	}
	if err := t.load(ctx, load); err != nil {
		return err
	}
	t.index()
	return nil
}

// load reads jobs from Redis into the tracked set.
func (t *Tracker) load(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 1000)]
		keys = keys[len(batch):]
		jobs, err := t.store.GetMany(ctx, batch)
		if err != nil {
			return err
		}
		t.mu.Lock()
		for _, j := range jobs {
			if j != nil && t.owned[j.Shard] {
				t.jobs[j.Key] = j
				t.endedRecently(j)
				// Decided from Kubernetes at the next collect: a change the
				// informer saw before the job was loaded (or of a job with
				// no REST endpoint to poll) is not lost.
				t.dirty[t.kubeKey(j)] = true
			}
		}
		t.mu.Unlock()
	}
	return nil
}

// index groups the tracked jobs by REST endpoint: a session cluster is
// polled once for all its jobs.
func (t *Tracker) index() {
	by := map[string][]string{}
	states := map[messages.JobState]int{}
	for k, j := range t.jobs {
		states[j.State]++
		if j.RestEndpoint != "" {
			by[j.RestEndpoint] = append(by[j.RestEndpoint], k)
		}
	}
	t.byEndpoint = by
	t.statusSlots = spread(t.statusWheel, by)
	t.metricSlots = spread(t.metricWheel, by)
	t.m.jobs.Reset()
	for s, n := range states {
		t.m.jobs.WithLabelValues(string(s)).Set(float64(n))
	}
}
