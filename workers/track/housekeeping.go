package track

import (
	"context"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// housekeepingTicks is how often housekeeping runs, in ticks: every
// minute, or twice per FinishedClusterRetention when that is shorter.
func (t *Tracker) housekeepingTicks() int64 {
	every := time.Minute
	if r := t.cfg.FinishedClusterRetention / 2; r > 0 && r < every {
		every = max(r, tick)
	}
	return int64(every / tick)
}

// finished reports whether a job ended in Flink (FINISHED, FAILED,
// CANCELED): its application cluster is kept for reading, then removed.
func finished(s messages.JobState) bool {
	return s == messages.StateFinished || s == messages.StateFailed || s == messages.StateCanceled
}

// housekeeping removes expired terminal jobs from Redis and deletes
// application clusters kept past FinishedClusterRetention: the JobManager
// Deployment and everything labelled with the cluster, HA ConfigMaps
// included.
func (t *Tracker) housekeeping(ctx context.Context) {
	if _, err := t.store.Sweep(ctx, t.now()); err != nil && ctx.Err() == nil {
		t.log.Warn("sweeping terminal jobs", "error", err.Error())
	}
	if t.cfg.FinishedClusterRetention <= 0 || t.deleter == nil {
		return
	}
	for _, j := range t.jobs {
		if j.Mode != messages.ModeApplication || !finished(j.State) ||
			t.now().Sub(j.StateSince) < t.cfg.FinishedClusterRetention || !t.owner.Owns(j.Shard) {
			continue
		}
		v := t.kube(j)
		if v.Outcome != state.KubePresent {
			continue
		}
		kc := j.Job.KubeCluster
		if kc == "" {
			kc = t.defKube
		}
		if err := t.deleter(ctx, kc, j.Job.Namespace, j.Job.ClusterID); err != nil {
			t.log.Warn("deleting finished application cluster", "job", j.Key, "error", err.Error())
			continue
		}
		t.log.Info("deleted finished application cluster after retention", "job", j.Key, "state", j.State)
	}
}
