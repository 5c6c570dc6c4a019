package flinksim

import (
	"strconv"
	"time"
)

const suspendingCause = "org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint Coordinator is suspending."

// checkpointEntry is one finished checkpoint or savepoint.
type checkpointEntry struct {
	id             int64
	failed         bool
	savepoint      bool
	typ            string // RestAPICheckpointType
	trigger, ack   int64  // epoch ms
	stateSize      int64
	subtasks       int
	externalPath   string
	failureTime    int64
	failureMessage string
}

func (e *checkpointEntry) duration() int64 { return e.ack - e.trigger }

type pendingCheckpoint struct {
	id       int64
	trigger  time.Time
	end      time.Time
	subtasks int
}

type restoredEntry struct {
	id           int64
	at           int64
	savepoint    bool
	externalPath string
}

// checkpoints is a job's checkpoint coordinator and statistics tracker.
type checkpoints struct {
	lastID      int64
	nextTrigger time.Time // zero unless periodic checkpoints are scheduled
	pending     *pendingCheckpoint

	restored, total, completed, failed int64

	history         []*checkpointEntry // finished, newest first
	latestCompleted *checkpointEntry
	latestSavepoint *checkpointEntry
	latestFailed    *checkpointEntry
	latestRestored  *restoredEntry
	restoreFrom     string // savepoint to report as restored on first RUNNING

	sizes, durations window
}

func (cp *checkpoints) nextEvent(j *Job) time.Time {
	if cp.pending != nil {
		return cp.pending.end
	}
	return cp.nextTrigger
}

// start is called when the job enters RUNNING.
func (cp *checkpoints) start(j *Job, at time.Time, prev JobState) {
	switch {
	case cp.restoreFrom != "":
		cp.lastID = max(cp.lastID, 1)
		cp.latestRestored = &restoredEntry{id: cp.lastID, at: millis(at), savepoint: true, externalPath: cp.restoreFrom}
		cp.restoreFrom = ""
		cp.restored++
	case prev == Restarting && cp.latestCompleted != nil:
		e := cp.latestCompleted
		cp.latestRestored = &restoredEntry{id: e.id, at: millis(at), savepoint: e.savepoint, externalPath: e.externalPath}
		cp.restored++
	}
	if iv := j.spec.Checkpoints.Interval; iv > 0 {
		cp.nextTrigger = at.Add(iv)
	}
}

// abort is called when the job leaves RUNNING.
func (cp *checkpoints) abort(j *Job, at time.Time) {
	if p := cp.pending; p != nil {
		cp.pending = nil
		cp.finish(j, &checkpointEntry{
			id: p.id, failed: true, typ: "CHECKPOINT", trigger: millis(p.trigger), ack: millis(at),
			subtasks: p.subtasks, failureTime: millis(at), failureMessage: suspendingCause,
		})
	}
	cp.nextTrigger = time.Time{}
}

// fire triggers or finishes the periodic checkpoint due at time at.
func (cp *checkpoints) fire(j *Job, at time.Time) {
	spec := j.spec.Checkpoints
	if p := cp.pending; p != nil {
		cp.pending = nil
		e := &checkpointEntry{id: p.id, typ: "CHECKPOINT", trigger: millis(p.trigger), ack: millis(at), subtasks: p.subtasks}
		if spec.FailEvery > 0 && p.id%int64(spec.FailEvery) == 0 {
			e.failed, e.failureTime, e.failureMessage = true, millis(at), spec.FailureMessage
		} else {
			e.stateSize = spec.StateSize + p.id*1024
			e.externalPath = j.c.config(keyCheckpointsDir) + "/" + j.id + "/chk-" + strconv.FormatInt(p.id, 10)
		}
		cp.finish(j, e)
		cp.nextTrigger = p.trigger.Add(spec.Interval)
		if cp.nextTrigger.Before(at) {
			cp.nextTrigger = at
		}
		return
	}
	cp.lastID++
	cp.total++
	cp.pending = &pendingCheckpoint{id: cp.lastID, trigger: at, end: at.Add(spec.Duration), subtasks: j.numSubtasks()}
	cp.nextTrigger = time.Time{}
}

// finish records a finished checkpoint or savepoint (counted in total when
// it was triggered).
func (cp *checkpoints) finish(j *Job, e *checkpointEntry) {
	if e.failed {
		cp.failed++
		cp.latestFailed = e
	} else {
		cp.completed++
		cp.latestCompleted = e
		if e.savepoint {
			cp.latestSavepoint = e
		}
		cp.sizes.add(e.stateSize)
		cp.durations.add(e.duration())
	}
	cp.history = append([]*checkpointEntry{e}, cp.history...)
	if n := j.spec.Checkpoints.HistorySize; len(cp.history) > n {
		cp.history = cp.history[:n]
	}
}

func (j *Job) numSubtasks() int { return j.spec.Parallelism * len(j.vertexIDs) }

// window keeps summary statistics of all values and the last windowSize
// values for percentiles, like Flink's StatsSummary.
type window struct {
	count, sum, min, max int64
	last                 []int64
	pos                  int
}

const windowSize = 100

func (w *window) add(v int64) {
	if w.count == 0 || v < w.min {
		w.min = v
	}
	if w.count == 0 || v > w.max {
		w.max = v
	}
	w.count++
	w.sum += v
	if len(w.last) < windowSize {
		w.last = append(w.last, v)
		return
	}
	w.last[w.pos] = v
	w.pos = (w.pos + 1) % windowSize
}
