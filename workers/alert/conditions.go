package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Condition is a rule's condition over time, evaluated against what the
// track worker records of a job (its Redis job record) and the restarts
// the alert worker counted from status events. Exactly one field is set.
type Condition struct {
	// Restarts fires when the job entered RESTARTING more than
	// Restarts.Count times within Restarts.Window.
	Restarts *CountWindow
	// FailedCheckpoints fires when at least FailedCheckpoints.Count
	// checkpoints failed within FailedCheckpoints.Window.
	FailedCheckpoints *CountWindow
	// NoCheckpointFor fires when a RUNNING job completed no checkpoint
	// for that long, counted from its latest completed checkpoint or from
	// when it last entered RUNNING, whichever is later.
	NoCheckpointFor time.Duration
	// NotRunningAfter fires when a run is still starting (STARTING,
	// K8S_INITIALIZING, INITIALIZING, CREATED, RECONCILING) that long
	// after it was deployed.
	NotRunningAfter time.Duration
}

// CountWindow is a number of occurrences within a sliding window.
type CountWindow struct {
	Count  int
	Window time.Duration
}

// Window is the longest time the condition looks back (0 when it keeps no
// history).
func (c *Condition) Window() time.Duration {
	switch {
	case c.Restarts != nil:
		return c.Restarts.Window
	case c.FailedCheckpoints != nil:
		return c.FailedCheckpoints.Window
	}
	return 0
}

// startingStates are the states of a run that has not yet run.
var startingStates = []messages.JobState{
	messages.StateStarting, messages.StateK8sInitializing, messages.StateInitializing,
	messages.StateCreated, messages.StateReconciling,
}

// JobFacts are what a condition is evaluated on.
type JobFacts struct {
	// State, StateSince and DeployedAt are the track worker's record.
	State      messages.JobState
	StateSince time.Time
	DeployedAt time.Time
	// LastCheckpointAt is the latest completed checkpoint (zero: none).
	LastCheckpointAt time.Time
	// RestartsInWindow is how many times the job entered RESTARTING
	// within the condition's window.
	RestartsInWindow int
	// FailedCheckpointsInWindow is how many checkpoints failed within the
	// condition's window (from the track worker's failed count, sampled).
	FailedCheckpointsInWindow int
}

// Eval reports whether the condition holds for f at now, and a one-line
// reason ("restarted 4 times in 10m0s (more than 3)").
func (c *Condition) Eval(f JobFacts, now time.Time) (bool, string) {
	switch {
	case c.Restarts != nil:
		n := f.RestartsInWindow
		return n > c.Restarts.Count, fmt.Sprintf("restarted %d times in %s (more than %d fires)", n, c.Restarts.Window, c.Restarts.Count)
	case c.FailedCheckpoints != nil:
		n := f.FailedCheckpointsInWindow
		return n >= c.FailedCheckpoints.Count, fmt.Sprintf("%d checkpoints failed in %s (%d or more fires)", n, c.FailedCheckpoints.Window, c.FailedCheckpoints.Count)
	case c.NoCheckpointFor > 0:
		if f.State != messages.StateRunning {
			return false, "not running"
		}
		// Counted from when it last started running when that is later:
		// a job that just restarted gets the whole duration.
		ref, what := f.LastCheckpointAt, "last completed checkpoint"
		if ref.IsZero() || f.StateSince.After(ref) {
			ref, what = f.StateSince, "running without a completed checkpoint since"
		}
		if ref.IsZero() {
			return false, "no reference time"
		}
		age := now.Sub(ref)
		return age >= c.NoCheckpointFor, fmt.Sprintf("%s %s ago (%s fires)", what, age.Round(time.Second), c.NoCheckpointFor)
	case c.NotRunningAfter > 0:
		if !slices.Contains(startingStates, f.State) || f.DeployedAt.IsZero() {
			return false, string(f.State)
		}
		age := now.Sub(f.DeployedAt)
		return age >= c.NotRunningAfter, fmt.Sprintf("still %s %s after deploy (%s fires)", f.State, age.Round(time.Second), c.NotRunningAfter)
	}
	return false, ""
}

// reasonOf is the notice reason of a condition rule.
func (c *Condition) reasonOf() string {
	switch {
	case c.Restarts != nil:
		return "restarts_in_window"
	case c.FailedCheckpoints != nil:
		return "failed_checkpoints_in_window"
	case c.NoCheckpointFor > 0:
		return "no_checkpoint"
	case c.NotRunningAfter > 0:
		return "not_running_after_deploy"
	}
	return ""
}

// failedIncrease is how many checkpoints failed within window before now,
// from samples of the job's failed-checkpoint count (ascending by time).
// A count that drops is a new run starting from zero.
func failedIncrease(samples []countSample, window time.Duration, now time.Time) int {
	start := now.Add(-window)
	total := 0
	for i := 1; i < len(samples); i++ {
		if samples[i].At.Before(start) || samples[i].At.After(now) {
			continue
		}
		d := samples[i].Count - samples[i-1].Count
		if d < 0 {
			d = samples[i].Count // reset: a new run
		}
		total += int(d)
	}
	return total
}

// countSample is a counter's value at a time.
type countSample struct {
	At    time.Time
	Count int64
}
