package flinksim

import (
	"strconv"
	"time"
)

const notRunningCause = "org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint triggering task Source: events (1/1) of job %s is not being executed at the moment. Aborting checkpoint. Failure reason: Not all required tasks are currently running."

// savepointOp is an asynchronous savepoint or stop-with-savepoint, as
// queried through GET /jobs/{jobid}/savepoints/{triggerid}.
type savepointOp struct {
	triggerID string
	jobID     string
	stop      bool // stop-with-savepoint: the job FINISHES on success
	cancelJob bool // savepoint with cancel-job: the job is CANCELED on success
	dir       string
	format    string
	doneAt    time.Time
	done      bool
	cpID      int64
	started   time.Time
	location  string
	failure   string
}

func opKey(jobID, triggerID string) string { return jobID + "/" + triggerID }

// startOp starts op at time at: it completes after the job's savepoint
// Duration, or fails at once when the job is not RUNNING.
func (j *Job) startOp(op *savepointOp, at time.Time) {
	op.started = at
	if j.state != Running {
		op.done, op.doneAt = true, at
		op.failure = formatCause(notRunningCause, j.id)
		return
	}
	j.cp.lastID++
	j.cp.total++
	op.cpID = j.cp.lastID
	op.doneAt = at.Add(j.spec.Savepoints.Duration)
	j.ops = append(j.ops, op)
	j.recompute()
}

// completeOp finishes a pending op at its due time.
func (j *Job) completeOp(op *savepointOp, at time.Time) {
	j.removeOp(op)
	op.done = true
	typ := "SAVEPOINT"
	if op.stop {
		typ = "SYNC_SAVEPOINT"
	}
	e := &checkpointEntry{id: op.cpID, savepoint: true, typ: typ, trigger: millis(op.started), ack: millis(at), subtasks: j.numSubtasks()}
	if j.spec.Savepoints.Fail {
		op.failure = j.spec.Savepoints.FailureCause
		e.failed, e.failureTime, e.failureMessage = true, millis(at), op.failure
		j.cp.finish(j, e)
		return
	}
	op.location = op.dir + "/savepoint-" + j.id[:6] + "-" + j.c.hex(12)
	e.stateSize = j.spec.Checkpoints.StateSize + op.cpID*1024
	e.externalPath = op.location
	j.c.savepoints[op.location] = true
	j.cp.finish(j, e)
	switch {
	case op.stop:
		j.scripted = false
		j.enter(Finished, at, "")
	case op.cancelJob:
		j.scripted = false
		j.enter(Canceled, at, "")
	}
}

// failOps fails every pending op with cause (the job left RUNNING).
func (j *Job) failOps(at time.Time, cause string) {
	for _, op := range j.ops {
		op.done, op.doneAt, op.failure = true, at, cause
		j.cp.finish(j, &checkpointEntry{
			id: op.cpID, failed: true, savepoint: true, typ: "SAVEPOINT", trigger: millis(op.started), ack: millis(at),
			subtasks: j.numSubtasks(), failureTime: millis(at), failureMessage: cause,
		})
	}
	j.ops = nil
}

func (j *Job) removeOp(op *savepointOp) {
	for i, o := range j.ops {
		if o == op {
			j.ops = append(j.ops[:i], j.ops[i+1:]...)
			return
		}
	}
}

// cancel handles PATCH /jobs/{jobid}?mode=cancel at time at and returns
// the HTTP status and, for errors, the message.
func (j *Job) cancel(at time.Time) (int, string) {
	switch j.state {
	case Canceled, Cancelling:
		return 202, ""
	case Finished, Failed:
		return 409, "Job cancellation failed because the job has already reached another terminal state (" + string(j.state) + ")."
	}
	j.scripted = false
	j.enter(Cancelling, at, "")
	j.cancelAt = at.Add(j.spec.CancelFor)
	j.recompute()
	return 202, ""
}

// formatCause fills the job id into a cause template.
func formatCause(template, jobID string) string {
	out := make([]byte, 0, len(template)+32)
	for i := 0; i < len(template); i++ {
		if template[i] == '%' && i+1 < len(template) && template[i+1] == 's' {
			out = append(out, jobID...)
			i++
			continue
		}
		out = append(out, template[i])
	}
	return string(out)
}

// exceptionEntry is one root exception of the job's exception history.
type exceptionEntry struct {
	name, stack string
	at          int64
	taskName    string
	location    string
	tm          string
}

const defaultCause = "java.lang.RuntimeException: simulated failure"

func (j *Job) recordException(at time.Time, cause string) {
	if cause == "" {
		cause = defaultCause
	}
	name := cause
	for i := 0; i < len(cause); i++ {
		if cause[i] == ':' || cause[i] == '\n' {
			name = cause[:i]
			break
		}
	}
	e := exceptionEntry{
		name:     name,
		stack:    cause + "\n\tat com.example.StreamingJob$Mapper.map(StreamingJob.java:42)\n\tat org.apache.flink.streaming.api.operators.StreamMap.processElement(StreamMap.java:38)\n",
		at:       millis(at),
		taskName: j.vertexNames[0] + " (1/" + strconv.Itoa(j.spec.Parallelism) + ")",
		location: j.c.name + "-taskmanager-1-1:6122",
		tm:       j.c.name + "-taskmanager-1-1",
	}
	j.exceptions = append([]exceptionEntry{e}, j.exceptions...)
	if len(j.exceptions) > 16 { // web.exception-history-size
		j.exceptions = j.exceptions[:16]
	}
}
