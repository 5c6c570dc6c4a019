package flinksim

import "time"

// SetState moves the job to state now and stops its Script: from then on
// the job changes state only through further calls, cancel, or stop. A
// CANCELLING set this way stays until changed.
func (j *Job) SetState(state JobState) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	now := j.c.clock.Now()
	j.advance(now)
	j.scripted = false
	j.enter(state, now, "")
	j.recompute()
}

// Fail moves the job to FAILED now with cause as its root exception, and
// stops its Script.
func (j *Job) Fail(cause string) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	now := j.c.clock.Now()
	j.advance(now)
	j.scripted = false
	j.enter(Failed, now, cause)
	j.recompute()
}

// SetSavepointOutcome changes whether savepoints triggered from now on
// fail, and with which cause ("" keeps the current one).
func (j *Job) SetSavepointOutcome(fail bool, cause string) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	j.spec.Savepoints.Fail = fail
	if cause != "" {
		j.spec.Savepoints.FailureCause = cause
	}
}

// SetSavepointDuration changes how long savepoints triggered from now on
// take (at least 1ms).
func (j *Job) SetSavepointDuration(d time.Duration) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	j.spec.Savepoints.Duration = max(d, time.Millisecond)
}
