package track

import (
	"time"

	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// A job that ends in Flink (FINISHED, FAILED, CANCELED) stops being
// polled, but its last checkpoints are what a restart needs, and a job
// that had already ended at its first poll was never asked for them.
// So the end of a job queues one final metric poll of its JobManager:
// /overview (metrics, if it still answers) and the job's
// /jobs/{id}/checkpoints, read even when /overview fails.

// finalPollWindow is how recently a job loaded into the tracked set
// (another replica's shard taken over, a restart) must have ended for
// its final poll to be made again: the replica that wrote the end may
// have stopped before making it. Repeating it is harmless (unchanged
// summaries are not rewritten).
const finalPollWindow = time.Minute

// ended queues the final poll of j if it just ended in Flink.
func (t *Tracker) ended(j *jobstore.Job) {
	if !finished(j.State) || j.RestEndpoint == "" || j.FlinkJobID == "" {
		return
	}
	for _, id := range t.finals[j.RestEndpoint] {
		if id == j.FlinkJobID {
			return
		}
	}
	t.finals[j.RestEndpoint] = append(t.finals[j.RestEndpoint], j.FlinkJobID)
}

// endedRecently queues the final poll of a loaded job that ended less
// than finalPollWindow ago.
func (t *Tracker) endedRecently(j *jobstore.Job) {
	if finished(j.State) && t.now().Sub(j.StateSince) < finalPollWindow {
		t.ended(j)
	}
}

// dispatchFinals queues the pending final polls for the poller pool. One
// that cannot go now (a metric poll of the same JobManager in flight, whose
// checkpoints may predate the end; the queue full) waits for the next
// round of writes.
func (t *Tracker) dispatchFinals() {
	for ep, ids := range t.finals {
		if t.inflight[kindMetric+" "+ep] {
			continue
		}
		_, haveConf := t.jmConfig[ep]
		select {
		case t.tasks <- pollTask{endpoint: ep, metric: true, final: true, jobIDs: ids, haveConf: haveConf}:
		default:
			continue
		}
		t.inflight[kindMetric+" "+ep] = true
		delete(t.finals, ep)
	}
}
