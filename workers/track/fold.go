package track

import (
	"context"
	"sort"

	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// write applies the updates in one pipelined batch and folds the results
// back into the tracked set.
func (t *Tracker) write(ctx context.Context, updates map[string]*jobstore.Update) {
	if len(updates) == 0 {
		return
	}
	batch := make([]jobstore.Update, 0, len(updates))
	for _, u := range updates {
		if t.owner.Owns(t.jobs[u.Key].Shard) {
			batch = append(batch, *u)
		}
	}
	sort.Slice(batch, func(a, b int) bool { return batch[a].Key < batch[b].Key })
	res, err := t.store.Apply(ctx, batch)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("writing job states to Redis", "jobs", len(batch), "error", err.Error())
		}
		return
	}
	var reload []string
	for i, r := range res {
		u := batch[i]
		j := t.jobs[u.Key]
		if r.Conflict {
			t.m.conflicts.Inc()
			reload = append(reload, u.Key)
			continue
		}
		foldUpdate(j, u, r.Version)
		if r.Transitioned {
			t.m.transitions.WithLabelValues(string(u.Transition.To)).Inc()
			t.ended(j)
		}
	}
	if len(reload) > 0 {
		if err := t.load(ctx, reload); err != nil {
			t.log.Warn("reloading jobs after conflicts", "error", err.Error())
		}
	}
	if len(reload) > 0 || anyTransition(batch) {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

func anyTransition(batch []jobstore.Update) bool {
	for _, u := range batch {
		if u.Transition != nil {
			return true
		}
	}
	return false
}

// foldUpdate applies a written update to the in-memory copy.
func foldUpdate(j *jobstore.Job, u jobstore.Update, version int64) {
	j.Version = version
	if !u.LastPoll.IsZero() {
		j.LastPoll = u.LastPoll
	}
	if u.SilentSince != nil {
		j.SilentSince = *u.SilentSince
	}
	if u.Metrics != nil {
		j.Metrics = *u.Metrics
	}
	if u.Checkpoints != nil {
		j.Checkpoints = *u.Checkpoints
	}
	if u.Transition != nil {
		j.State, j.Reason, j.Message, j.StateSince = u.Transition.To, u.Transition.Reason, u.Transition.Message, u.Transition.Time
	}
}
