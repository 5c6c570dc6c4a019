package flinksim

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Job is one simulated Flink job. Its state advances lazily with its
// cluster's clock; every method is safe for concurrent use.
type Job struct {
	c           *Cluster
	id          string
	spec        JobSpec
	vertexIDs   []string
	vertexNames []string
	submission  *JarRunRequest

	state      JobState
	timestamps [len(jobStates)]int64
	created    time.Time
	end        time.Time // zero until globally terminal
	lastMod    time.Time

	scripted bool      // the Script still drives the state
	step     int       // index of the current Script step
	stepEnd  time.Time // end of the current step; zero means never
	cancelAt time.Time // CANCELLING turns CANCELED at this time

	cp         checkpoints
	ops        []*savepointOp // savepoints in progress, oldest first
	exceptions []exceptionEntry

	next time.Time // earliest pending event; zero means none
}

// newJob creates a job at time now; spec.ID must be set. The caller holds
// the cluster lock.
func newJob(c *Cluster, spec JobSpec, now time.Time) *Job {
	spec = spec.withDefaults()
	j := &Job{c: c, id: spec.ID, spec: spec, created: now, scripted: true}
	for i := range spec.Vertices {
		sum := sha256.Sum256([]byte(j.id + "/" + strconv.Itoa(i)))
		j.vertexIDs = append(j.vertexIDs, hex.EncodeToString(sum[:16]))
		j.vertexNames = append(j.vertexNames, vertexName(i, spec.Vertices))
	}
	j.cp.restoreFrom = spec.RestoredFrom
	first := spec.Script[0]
	j.enter(first.State, now, first.Cause)
	if first.For > 0 && !first.State.IsGloballyTerminal() {
		j.stepEnd = now.Add(first.For)
	} else {
		j.scripted = false
	}
	j.recompute()
	return j
}

func vertexName(i, n int) string {
	switch {
	case i == 0:
		return "Source: events"
	case i == n-1:
		return "Sink: results"
	default:
		return "Map " + strconv.Itoa(i)
	}
}

// ID returns the job id (32 hex characters).
func (j *Job) ID() string { return j.id }

// Name returns the job name.
func (j *Job) Name() string { return j.spec.Name }

// State returns the job's state at the cluster clock's current time.
func (j *Job) State() JobState {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	j.advance(j.c.clock.Now())
	return j.state
}

// Submission returns the jar-run request that created the job, if it was
// submitted through POST /jars/{jarid}/run.
func (j *Job) Submission() (JarRunRequest, bool) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	if j.submission == nil {
		return JarRunRequest{}, false
	}
	return *j.submission, true
}

// enter moves the job to state at time at. Caller holds the lock.
func (j *Job) enter(state JobState, at time.Time, cause string) {
	prev := j.state
	if prev == Running && state != Running {
		j.cp.abort(j, at)
		j.failOps(at, suspendingCause)
	}
	j.state = state
	j.timestamps[state.index()] = millis(at)
	j.lastMod = at
	if state != Cancelling {
		j.cancelAt = time.Time{}
	}
	switch state {
	case Running:
		j.cp.start(j, at, prev)
	case Failing, Restarting:
		j.recordException(at, cause)
	case Failed:
		if prev != Failing {
			j.recordException(at, cause)
		}
	}
	if state.IsGloballyTerminal() {
		j.end = at
		j.scripted = false
		j.failOps(at, suspendingCause)
	}
}

// advance processes every event due at or before now.
func (j *Job) advance(now time.Time) {
	for !j.next.IsZero() && !j.next.After(now) {
		j.fire(j.next)
		j.recompute()
	}
}

// fire handles the one event due at time at, in a fixed order: savepoint
// completions, checkpoints, cancellation, script steps.
func (j *Job) fire(at time.Time) {
	for _, op := range j.ops {
		if op.doneAt.Equal(at) {
			j.completeOp(op, at)
			return
		}
	}
	if t := j.cp.nextEvent(j); !t.IsZero() && t.Equal(at) {
		j.cp.fire(j, at)
		return
	}
	if j.state == Cancelling && j.cancelAt.Equal(at) {
		j.enter(Canceled, at, "")
		return
	}
	if j.scripted && j.stepEnd.Equal(at) {
		j.nextStep(at)
	}
}

func (j *Job) nextStep(at time.Time) {
	j.step++
	j.stepEnd = time.Time{}
	if j.step >= len(j.spec.Script) {
		j.scripted = false
		return
	}
	s := j.spec.Script[j.step]
	j.enter(s.State, at, s.Cause)
	if s.For > 0 && j.scripted {
		j.stepEnd = at.Add(s.For)
	} else {
		j.scripted = false
	}
}

// recompute caches the time of the earliest pending event.
func (j *Job) recompute() {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, op := range j.ops {
		earliest(op.doneAt)
	}
	earliest(j.cp.nextEvent(j))
	if j.state == Cancelling {
		earliest(j.cancelAt)
	}
	if j.scripted {
		earliest(j.stepEnd)
	}
	j.next = next
}

// duration is Flink's job duration in milliseconds at time now.
func (j *Job) duration(now time.Time) int64 {
	if !j.end.IsZero() {
		return millis(j.end) - millis(j.created)
	}
	return millis(now) - millis(j.created)
}

// endTime is Flink's end-time: -1 until the job is globally terminal.
func (j *Job) endTime() int64 {
	if j.end.IsZero() {
		return -1
	}
	return millis(j.end)
}

// tasks counts the job's tasks per execution state.
func (j *Job) tasks() (counts [numExecStates]int, total int) {
	st, ok := taskState(j.state)
	if !ok {
		return counts, 0
	}
	total = j.spec.Parallelism * len(j.vertexIDs)
	counts[st] = total
	return counts, total
}

// usesSlots reports whether the job holds task slots.
func (j *Job) usesSlots() bool {
	switch j.state {
	case Created, Running, Failing, Cancelling, Restarting, Reconciling:
		return true
	}
	return false
}
