package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// How the --wait of a day-2 command ends (the contract of
// messages.OperationRef and messages.ControlRefused, docs/day2.md):
//
//   - a ControlRefused of the request fails it, whatever the reason;
//   - the request's own steps (status events whose Operation names the
//     request) decide: completed succeeds, failed fails with the step's
//     reason and message, requested and in_progress are progress. A resume
//     completes when the job is handed to the submit worker: its wait goes
//     on until the new run, whose request id is the resume's, is RUNNING
//     (or FINISHED), and fails as `submit --wait` does (a build or deploy
//     failure, FAILED, LOST, ...);
//   - every other event of the job (another operation's step, another
//     run's transition) is printed and decides nothing, except the job
//     ending while a cancel, suspend or savepoint waits (outcome.jobEnds).

// outcome is how the wait of an operation reads the job's events besides
// the operation's own steps.
type outcome struct {
	// waiting is the stage shown until the first event.
	waiting string
	// jobEnds: the job stopping on its own (jobEndedStates, FINISHED)
	// fails the wait. Not for delete and dispose, which the job's fate
	// does not decide, nor resume, which waits for a new run.
	jobEnds bool
	// target is the state the operation leads to, which does not count as
	// the job ending (cancel: CANCELED, whoever cancelled it; the step of
	// the request then decides).
	target messages.JobState
	// newRun: the completed step hands the job over to a new run, whose
	// request id is the operation's, and the wait follows that run.
	newRun bool
}

// outcomes holds the outcome of every operation.
var outcomes = map[messages.Operation]outcome{
	messages.OpCancel:    {waiting: "cancelling", jobEnds: true, target: messages.StateCanceled},
	messages.OpSuspend:   {waiting: "suspending", jobEnds: true, target: messages.StateSuspended},
	messages.OpResume:    {waiting: "resuming", newRun: true},
	messages.OpRestart:   {waiting: "restarting", newRun: true},
	messages.OpSavepoint: {waiting: "taking a savepoint", jobEnds: true},
	messages.OpDelete:    {waiting: "deleting"},
	messages.OpDispose:   {waiting: "disposing the savepoint"},
}

// startingNewRun is the stage of a resume between its completed step and
// the new run's first event.
const startingNewRun = "starting the new run"

// verdict is what one status event means for a wait.
type verdict int

const (
	pending verdict = iota
	succeeded
	failed
)

// judgement is what one status event means for the wait of a request.
type judgement struct {
	// line is printed; "" when the event is none of the wait's business.
	line string
	// stage is shown until the next event; "" keeps the current one.
	stage   string
	verdict verdict
	// err is a failure's *JobFailedError.
	err error
}

// show prints j's line on p and reports whether the wait is over (with a
// failure's error). Otherwise the display goes on with j.stage, which
// replaces *stage unless empty.
func (j judgement) show(p progress, stage *string) (bool, error) {
	switch j.verdict {
	case succeeded:
		p.done(j.line)
		return true, nil
	case failed:
		p.fail(j.line)
		return true, j.err
	}
	p.done(j.line)
	if j.stage != "" {
		*stage = j.stage
	}
	p.start(*stage)
	return false, nil
}

// judgeControl says what ev, read from the status topic, means for the
// wait of req (see the rules above outcome).
func judgeControl(req *messages.ControlRequested, ev messages.Event) judgement {
	oc := outcomes[req.Operation]
	switch e := ev.(type) {
	case *messages.ControlRefused:
		if e.RequestID != req.RequestID {
			return judgement{} // another request's refusal: that request's business
		}
		return judgement{
			line:    "refused (" + strings.Trim(e.Reason+": "+e.Message, ": ") + ")",
			verdict: failed,
			err:     &JobFailedError{RequestID: req.RequestID, State: "REFUSED", Reason: e.Reason, Message: e.Message},
		}
	case *messages.BuildFailed, *messages.DeployFailed:
		if !oc.newRun {
			return judgement{}
		}
		if line, err := runFailed(ev, req.RequestID); err != nil {
			return judgement{line: line, verdict: failed, err: err}
		}
	case *messages.Deployed:
		if oc.newRun && e.RequestID == req.RequestID {
			return judgement{line: describeDeployed(e), stage: "starting"}
		}
	case *messages.JobStatusChanged:
		if e.JobKey() != req.JobKey() {
			return judgement{}
		}
		return judgeStatus(req, oc, e)
	}
	return judgement{}
}

// judgeStatus judges e, an event of req's job.
func judgeStatus(req *messages.ControlRequested, oc outcome, e *messages.JobStatusChanged) judgement {
	line := stateLine(e)
	if e.SavepointPath != "" {
		line += ", savepoint " + e.SavepointPath
	}
	op := e.Operation
	switch {
	case oc.newRun && e.RequestID == req.RequestID:
		// The run the operation started: judged as `submit --wait` does.
		line, v, err := runState(req.RequestID, e)
		if v != pending {
			return judgement{line: line, verdict: v, err: err}
		}
		return judgement{line: line, stage: string(e.To)}
	case op != nil && op.RequestID == req.RequestID:
		switch op.Status {
		case messages.OperationCompleted:
			if oc.newRun {
				return judgement{line: line, stage: startingNewRun}
			}
			return judgement{line: line, verdict: succeeded}
		case messages.OperationFailed:
			return judgement{line: line, verdict: failed,
				err: &JobFailedError{RequestID: req.RequestID, State: string(e.To), Reason: e.Reason, Message: e.Message}}
		}
		return judgement{line: line, stage: string(e.To)}
	case op != nil:
		line += fmt.Sprintf(" [%s %s, not this request]", op.Operation, op.RequestID)
	}
	if oc.jobEnds && e.To != oc.target && (slices.Contains(jobEndedStates, e.To) || e.To == messages.StateFinished) {
		return judgement{line: line, verdict: failed,
			err: &JobFailedError{RequestID: req.RequestID, State: string(e.To), Reason: e.Reason, Message: e.Message}}
	}
	return judgement{line: line}
}

// followControl prints the events of req's job until the operation's
// outcome or the timeout (a *JobFailedError, as for submit).
func (w *statusWatcher) followControl(ctx context.Context, req *messages.ControlRequested, timeout time.Duration, p progress) error {
	stage := outcomes[req.Operation].waiting
	p.start(stage)
	defer p.stop()
	still := func() string { return stage }
	return w.until(ctx, req.RequestID, timeout, p, still, func(_ context.Context, ev messages.Event, _ []byte) (bool, error) {
		j := judgeControl(req, ev)
		if j.line == "" {
			return false, nil
		}
		return j.show(p, &stage)
	})
}
