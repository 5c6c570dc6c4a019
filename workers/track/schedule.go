package track

import (
	"context"
	"time"
)

// tick is the scheduler's resolution: polls are spread over the interval
// in slots of this length; finished polls are written every flushEvery.
const tick = 250 * time.Millisecond

// flushEvery is how often finished polls are written between ticks.
const flushEvery = 50 * time.Millisecond

// taskQueue is how many poll tasks wait for a poller at most: one per
// JobManager at a time (in-flight ones are skipped), so it only fills when
// more than this many JobManagers are due and unanswered at once.
const taskQueue = 1 << 14

// loop ticks until ctx ends. The wheels follow the clock, not the loop:
// a turn slower than a tick (a slow Redis, a busy machine) dispatches the
// slots it missed on the next turn, so no JobManager's poll is skipped or
// delayed by more than the late turn. Between ticks, finished polls are
// written every flushEvery, so a result reaches Redis (and a transition
// its event) within about 50 ms rather than a whole tick.
func (t *Tracker) loop(ctx context.Context) error {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	start := time.Now()
	var n, next int64 // loop turns; next wheel tick to dispatch
	var opsAt time.Time
	for {
		if n%8 == 0 || t.ownershipChanged() { // every 2 s new jobs; shard changes at once
			if err := t.refresh(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("refreshing tracked jobs", "error", err.Error())
			}
		}
		due := int64(time.Since(start) / tick)
		next = max(next, due-int64(max(t.statusWheel.slots, t.metricWheel.slots))+1) // one turn of each wheel at most
		for ; next <= due; next++ {
			t.dispatch(next)
		}
		t.collect(ctx)
		if now := time.Now(); t.opsSoon || now.Sub(opsAt) >= t.cfg.OperationInterval {
			opsAt, t.opsSoon = now, false
			t.advanceOps(ctx)
		}
		if n%t.housekeepingTicks() == 0 {
			t.housekeeping(ctx)
		}
		n++
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return nil
			case <-flush.C:
				t.collect(ctx)
			case <-ticker.C:
				waiting = false
			}
		}
	}
}

// pollTask is the polls of one JobManager due at one tick. One pool
// goroutine runs them in order (job status first), so a JobManager due
// for both needs one connection, not two.
type pollTask struct {
	endpoint string
	status   bool
	metric   bool
	jobIDs   []string // checkpoints to read with the metrics
	haveConf bool     // the JobManager configuration is cached
	// final is the last poll of jobs that just ended: their checkpoints
	// are read even if /overview fails.
	final bool
}

// dispatch queues the polls due at tick n for the poller pool; a
// JobManager whose previous poll has not returned is skipped, and so is a
// poll the full queue cannot take (counted, retried next interval).
func (t *Tracker) dispatch(n int64) {
	due := map[string]*pollTask{}
	add := func(ep string) *pollTask {
		if p := due[ep]; p != nil {
			return p
		}
		if !t.active(ep) {
			return nil
		}
		p := &pollTask{endpoint: ep}
		due[ep] = p
		return p
	}
	for _, ep := range t.statusSlots[t.statusWheel.at(n)] {
		if p := add(ep); p != nil && !t.inflight[kindStatus+" "+ep] {
			p.status = true
		}
	}
	for _, ep := range t.metricSlots[t.metricWheel.at(n)] {
		p := add(ep)
		if p == nil || t.inflight[kindMetric+" "+ep] {
			continue
		}
		p.metric = true
		for _, k := range t.byEndpoint[ep] {
			if j := t.jobs[k]; j != nil && j.FlinkJobID != "" && !j.State.IsTerminal() && !settled(j) {
				p.jobIDs = append(p.jobIDs, j.FlinkJobID)
			}
		}
		_, p.haveConf = t.jmConfig[ep]
	}
	for ep, p := range due {
		if !p.status && !p.metric {
			continue
		}
		select {
		case t.tasks <- *p:
		default:
			t.m.pollSkipped.Inc()
			continue
		}
		if p.status {
			t.inflight[kindStatus+" "+ep] = true
		}
		if p.metric {
			t.inflight[kindMetric+" "+ep] = true
		}
	}
}

// active reports whether the JobManager at ep has a job still tracked.
func (t *Tracker) active(ep string) bool {
	for _, k := range t.byEndpoint[ep] {
		if j := t.jobs[k]; j != nil && !j.State.IsTerminal() && !settled(j) {
			return true
		}
	}
	return false
}
