package flinksim

import (
	"math"
	"net/http"
	"slices"
)

// handleCheckpoints answers GET /jobs/{jobid}/checkpoints: counts, summary,
// latest and history, in-progress checkpoints and savepoints first.
func handleCheckpoints(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	j, now := c.lockJob(w, p)
	if j == nil {
		return
	}
	cp := &j.cp
	s := checkpointingStatistics{
		Counts: counts{Restored: cp.restored, Total: cp.total, Completed: cp.completed, Failed: cp.failed},
		Latest: latestCheckpoints{
			Completed: cp.latestCompleted.json(), Savepoint: cp.latestSavepoint.json(), Failed: cp.latestFailed.json(),
		},
		History: make([]*checkpointJSON, 0, len(cp.history)+1),
	}
	if rs := cp.latestRestored; rs != nil {
		s.Latest.Restored = &restoredJSON{ID: rs.id, RestoreTimestamp: rs.at, IsSavepoint: rs.savepoint, ExternalPath: rs.externalPath}
	}
	s.Counts.InProgress = int32(len(j.ops))
	if pc := cp.pending; pc != nil {
		s.Counts.InProgress++
		elapsed := millis(now) - millis(pc.trigger)
		s.History = append(s.History, &checkpointJSON{
			Class: "in_progress", ID: pc.id, Status: "IN_PROGRESS", TriggerTimestamp: millis(pc.trigger),
			LatestAckTimestamp: millis(pc.trigger) + elapsed/2, EndToEndDuration: elapsed,
			NumSubtasks: pc.subtasks, NumAckSubtasks: pc.subtasks / 2, CheckpointType: "CHECKPOINT",
		})
	}
	for _, op := range j.ops {
		typ := "SAVEPOINT"
		if op.stop {
			typ = "SYNC_SAVEPOINT"
		}
		s.History = append(s.History, &checkpointJSON{
			Class: "in_progress", ID: op.cpID, Status: "IN_PROGRESS", IsSavepoint: true, SavepointFormat: &canonical,
			TriggerTimestamp: millis(op.started), LatestAckTimestamp: millis(op.started),
			EndToEndDuration: millis(now) - millis(op.started), NumSubtasks: j.numSubtasks(), CheckpointType: typ,
		})
	}
	for _, e := range cp.history {
		s.History = append(s.History, e.json())
	}
	size, dur := cp.sizes.summary(), cp.durations.summary()
	zero := cp.sizes.zeroSummary()
	s.Summary = checkpointSummary{
		CheckpointedSize: size, StateSize: size, EndToEndDuration: dur,
		AlignmentBuffered: zero, ProcessedData: zero, PersistedData: zero,
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, s)
}

// summary is the StatsSummaryDto of the window's values.
func (w *window) summary() statsSummary {
	if w.count == 0 {
		return w.zeroSummary()
	}
	v := slices.Clone(w.last)
	slices.Sort(v)
	return statsSummary{
		Min: w.min, Max: w.max, Avg: w.sum / w.count,
		P50: quantile(v, 0.5), P90: quantile(v, 0.9), P95: quantile(v, 0.95), P99: quantile(v, 0.99), P999: quantile(v, 0.999),
	}
}

// zeroSummary is the summary of a statistic Flink tracks as zero (or of
// no values at all): the percentiles are NaN until a checkpoint completed.
func (w *window) zeroSummary() statsSummary {
	q := jsonFloat(0)
	if w.count == 0 {
		q = jsonFloat(math.NaN())
	}
	return statsSummary{P50: q, P90: q, P95: q, P99: q, P999: q}
}

// quantile estimates the q-th quantile of sorted values like Apache
// Commons Math's default Percentile (used by Flink's histogram).
func quantile(sorted []int64, q float64) jsonFloat {
	n := float64(len(sorted))
	pos := q * (n + 1)
	switch {
	case pos < 1:
		return jsonFloat(sorted[0])
	case pos >= n:
		return jsonFloat(sorted[len(sorted)-1])
	}
	lo := int(pos)
	frac := pos - float64(lo)
	a, b := float64(sorted[lo-1]), float64(sorted[lo])
	return jsonFloat(a + frac*(b-a))
}
