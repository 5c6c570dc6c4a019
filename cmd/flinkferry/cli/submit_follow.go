package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/flinkferry/flinkferry/messages"
)

// How `submit --wait` reads the status topic (docs/upgrades.md):
//
//   - the run's own events (request_id = the submitted one) decide as
//     always: image pushed, objects applied, then its states until RUNNING
//     or FINISHED (success) or a state in jobEndedStates (failure);
//   - a request for a job whose cluster runs another request is an
//     upgrade: the track worker's steps name it in their operation
//     (operation.request_id = the submitted request, operation upgrade)
//     while the event's request_id is still the old run's. Each step is
//     shown (suspending…, savepoint <path>, deploying…); a failed step or a
//     refusal of the upgrade (ControlRefused of the request) fails the
//     wait, since the job keeps running the old request;
//   - every other event of the job (the old run's own transitions, another
//     request's operation) decides nothing and is not shown.

// submitFollow is the wait of one submit request: what it has seen and
// where it prints.
type submitFollow struct {
	req  *messages.SubmitRequested
	jobs *jobReader
	p    progress
	// stage is shown until the next event.
	stage string
	// upgrading: a step of the request's upgrade was seen; from is the
	// run it replaces, restore the restore point it deploys from.
	upgrading     bool
	from, restore string
	// completed: the upgrade's completed step was seen. Until then the
	// new run's lines are held: the submit worker may apply the new run
	// (and the track worker register it) before the track worker's step
	// saying so is on the topic, and the steps read in their order.
	completed bool
	held      []judgement
}

// newSubmitFollow starts the wait of req, printing to p; jobs (may be
// nil) reads the job's state when a request sent again changes nothing.
func newSubmitFollow(req *messages.SubmitRequested, jobs *jobReader, p progress) *submitFollow {
	f := &submitFollow{req: req, jobs: jobs, p: p, stage: "building image"}
	if req.Mode == messages.ModeSession {
		f.stage = "uploading jar"
	}
	p.start(f.stage)
	return f
}

// handle prints what ev means and says whether it ends the wait, and how
// (a statusHandler).
func (f *submitFollow) handle(ctx context.Context, ev messages.Event, _ []byte) (bool, error) {
	req, p := f.req, f.p
	j := f.judge(ev)
	if d, ok := ev.(*messages.Deployed); ok && d.RequestID == req.RequestID {
		j = judgement{line: describeDeployed(d), stage: "starting"}
		// A request sent again (same request_id) changes nothing: a job
		// already RUNNING or FINISHED stays so and no status event comes.
		// Its state is read from Redis instead.
		if js := f.jobs.get(ctx, req.JobKey()); js != nil && js.RequestID == req.RequestID &&
			(js.State == messages.StateRunning || js.State == messages.StateFinished) {
			p.done(j.line)
			f.stage = string(js.State)
			j.line, j.verdict, j.err = runState(req.RequestID, &messages.JobStatusChanged{To: js.State, Reason: js.Reason, Message: js.Message, WebUIURL: js.WebUIURL})
		}
	}
	if j.line == "" {
		return false, nil
	}
	newRun := false
	switch e := ev.(type) {
	case *messages.Deployed:
		newRun = true
	case *messages.JobStatusChanged:
		newRun = e.RequestID == req.RequestID
	}
	if newRun && f.upgrading && !f.completed && j.verdict == pending {
		f.held = append(f.held, j)
		return false, nil
	}
	if f.completed || newRun {
		// The completed step, or the new run ending the wait: what was
		// held follows it, or comes first.
		held := f.held
		f.held = nil
		if newRun {
			for _, h := range held {
				p.done(h.line)
			}
		} else {
			defer func() {
				for _, h := range held {
					p.done(h.line)
					if h.stage != "" {
						f.stage = h.stage
					}
				}
				if len(held) > 0 {
					p.start(f.stage)
				}
			}()
		}
	}
	return j.show(p, &f.stage)
}

// upgradeStages are the stages of an upgrade after it was recorded, by
// mode (messages.SubmitRequested.Upgrade).
var upgradeStages = map[messages.UpgradeMode]string{
	messages.UpgradeSavepoint: "suspending with a savepoint",
	messages.UpgradeLastState: "cancelling, to restore from the latest checkpoint",
	messages.UpgradeStateless: "cancelling, to start without state",
}

// mode is the request's upgrade mode (savepoint by default).
func (f *submitFollow) mode() messages.UpgradeMode {
	if u := f.req.Upgrade; u != nil && u.Mode != "" {
		return u.Mode
	}
	return messages.UpgradeSavepoint
}

// judge says what ev means for the wait (see the rules above). Deployed
// of the request is judged by the caller, which may read Redis.
func (f *submitFollow) judge(ev messages.Event) judgement {
	req := f.req
	switch e := ev.(type) {
	case *messages.ImageBuilt:
		if e.RequestID != req.RequestID || e.UpgradeOf != "" {
			return judgement{} // the track worker's hand-back: the upgrade's completed step says it
		}
		return judgement{line: describeImageBuilt(e), stage: "applying objects"}
	case *messages.BuildFailed, *messages.DeployFailed:
		if line, err := runFailed(ev, req.RequestID); err != nil {
			return judgement{line: line, verdict: failed, err: err}
		}
	case *messages.ControlRefused:
		if e.RequestID != req.RequestID {
			return judgement{}
		}
		return judgement{
			line:    f.opName() + " refused (" + strings.Trim(e.Reason+": "+e.Message, ": ") + ")",
			verdict: failed,
			err:     &JobFailedError{RequestID: req.RequestID, State: "REFUSED", Reason: e.Reason, Message: e.Message},
		}
	case *messages.JobStatusChanged:
		if e.JobKey() != req.JobKey() {
			// A move's steps are the moved job's (upgrade.from).
			if from, moves := req.MovedFrom(); moves && e.JobKey() == from.Key() {
				if op := e.Operation; op != nil && op.RequestID == req.RequestID && op.Operation == messages.OpUpgrade {
					return f.upgradeStep(e)
				}
			}
			return judgement{}
		}
		if op := e.Operation; op != nil && op.RequestID == req.RequestID && op.Operation == messages.OpUpgrade && e.RequestID != req.RequestID {
			return f.upgradeStep(e)
		}
		if e.RequestID != req.RequestID {
			return judgement{} // the old run, or another request's operation
		}
		line, v, err := runState(req.RequestID, e)
		j := judgement{line: line, verdict: v, err: err, stage: string(e.To)}
		if v == succeeded && f.upgrading {
			j.line += "\n" + f.summary(e.To)
		}
		return j
	}
	return judgement{}
}

// upgradeStep judges e, a step of the request's upgrade.
func (f *submitFollow) upgradeStep(e *messages.JobStatusChanged) judgement {
	f.upgrading = true
	f.from = e.RequestID
	switch e.Operation.Status {
	case messages.OperationRequested:
		return judgement{line: f.requestedLine(e.RequestID, e.From), stage: upgradeStages[f.mode()]}
	case messages.OperationInProgress:
		if f.completed {
			return judgement{} // told by the completed step already
		}
		if e.SavepointPath != "" {
			return judgement{line: "savepoint " + e.SavepointPath + "; removing the old cluster…", stage: "removing the old cluster"}
		}
		return judgement{line: stateLine(e), stage: "removing the old cluster"}
	case messages.OperationCompleted:
		f.completed, f.restore = true, e.SavepointPath
		return judgement{line: f.removedLine(), stage: "deploying"}
	case messages.OperationFailed:
		msg := fmt.Sprintf("%s failed (%s); the job is %s", f.opName(), strings.Trim(e.Reason+": "+e.Message, ": "), e.To)
		if from, ok := f.moving(); ok {
			msg += " in " + from.Key()
		}
		if e.To == messages.StateRunning {
			msg += ", still request " + e.RequestID
		}
		return judgement{line: msg, verdict: failed,
			err: &JobFailedError{RequestID: f.req.RequestID, State: "UPGRADE_FAILED", Reason: e.Reason, Message: e.Message}}
	}
	return judgement{line: stateLine(e)}
}

// stateOrUnknown is s, or "state unknown" when empty.
func stateOrUnknown(s messages.JobState) string {
	if s == "" {
		return "state unknown"
	}
	return string(s)
}
