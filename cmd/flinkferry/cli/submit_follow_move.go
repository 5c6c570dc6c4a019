package cli

import (
	"fmt"

	"github.com/flinkferry/flinkferry/messages"
)

// The words of `submit --wait` for a move (upgrade.from names another
// place; docs/upgrades.md, "Move between clusters"): the steps are an
// upgrade's, told as a move from one place to the other.

// moving returns the place the request moves the job from, and whether it
// is a move.
func (f *submitFollow) moving() (messages.JobRef, bool) {
	return f.req.MovedFrom()
}

// opName is "move" for a move, "upgrade" otherwise.
func (f *submitFollow) opName() string {
	if _, ok := f.moving(); ok {
		return "move"
	}
	return "upgrade"
}

// requestedLine is the line of the operation's first step: the job (in
// from, for a move) runs request running in state.
func (f *submitFollow) requestedLine(running string, state messages.JobState) string {
	stage := upgradeStages[f.mode()]
	if from, ok := f.moving(); ok {
		return fmt.Sprintf("moving (%s) from %s to %s: the job runs request %s there (%s); %s…",
			f.mode(), from.Key(), f.req.Job.Key(), running, stateOrUnknown(state), stage)
	}
	return fmt.Sprintf("upgrading (%s): the job runs request %s (%s); %s…", f.mode(), running, stateOrUnknown(state), stage)
}

// removedLine is the line of the completed step: the old cluster is gone,
// the new run handed to the submit worker.
func (f *submitFollow) removedLine() string {
	restore := "without state"
	if f.restore != "" {
		restore = "from " + f.restore
	}
	if from, ok := f.moving(); ok {
		return fmt.Sprintf("old cluster removed from %s, deploying in %s %s", from.Key(), f.req.Job.Key(), restore)
	}
	return "old cluster removed, deploying " + restore
}

// summary is the line ending a successful upgrade or move: what it
// replaced (and where), what the new run restored from and its state.
func (f *submitFollow) summary(to messages.JobState) string {
	restore := "without state"
	if f.restore != "" {
		restore = "from " + f.restore
	}
	if from, ok := f.moving(); ok {
		return fmt.Sprintf("moved %s (%s) → %s (%s), %s → %s", from.Key(), f.from, f.req.Job.Key(), f.req.RequestID, restore, to)
	}
	return fmt.Sprintf("upgraded %s → %s (%s), %s → %s", f.from, f.req.RequestID, f.mode(), restore, to)
}
