package cli

import (
	"context"
	"slices"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Reasons of the status events that end the --wait of the day-2 commands.
// The track worker will emit them with issue 14's next change
// (docs/day2.md: the operation's steps as job transitions with reasons);
// no worker emits them yet.
const (
	// reasonSuspended: the job is SUSPENDED, its savepoint taken.
	reasonSuspended = "suspended"
	// reasonSavepointCompleted: a savepoint of a running job completed.
	reasonSavepointCompleted = "savepoint_completed"
	// reasonSavepointFailed: the savepoint of a suspend or savepoint
	// failed; the job keeps running.
	reasonSavepointFailed = "savepoint_failed"
	// reasonDeleted: the job's cluster is deleted and the job forgotten.
	reasonDeleted = "deleted"
	// reasonSavepointDisposed and reasonDisposeFailed end a dispose.
	reasonSavepointDisposed = "savepoint_disposed"
	reasonDisposeFailed     = "dispose_failed"

	// The refusals of a request, before anything is triggered. Their event
	// names the refused request (RequestID), so that a refusal of another
	// request for the same job does not end this wait.
	reasonJobNotFound         = "job_not_found"
	reasonOperationInProgress = "operation_in_progress"
	reasonRequestIDConflict   = "request_id_conflict"
)

// refusalReasons fail the wait of every operation.
var refusalReasons = []string{reasonJobNotFound, reasonOperationInProgress, reasonRequestIDConflict}

// outcome says which status events of the job end the --wait of an
// operation, and how.
type outcome struct {
	// waiting is the stage shown until the first event.
	waiting string
	// okStates and okReasons end the wait with success.
	okStates  []messages.JobState
	okReasons []string
	// failReasons end it with a failure.
	failReasons []string
	// jobEnds: the job stopping otherwise (jobEndedStates, FINISHED) ends
	// it with a failure too. Not for delete and dispose, which the job's
	// own fate does not decide.
	jobEnds bool
}

// outcomes holds the outcome of every operation.
var outcomes = map[messages.Operation]outcome{
	messages.OpCancel: {waiting: "cancelling", okStates: []messages.JobState{messages.StateCanceled}, jobEnds: true},
	messages.OpSuspend: {waiting: "suspending", okStates: []messages.JobState{messages.StateSuspended},
		failReasons: []string{reasonSavepointFailed}, jobEnds: true},
	messages.OpResume: {waiting: "resuming", okStates: []messages.JobState{messages.StateRunning, messages.StateFinished}, jobEnds: true},
	messages.OpSavepoint: {waiting: "taking a savepoint", okReasons: []string{reasonSavepointCompleted},
		failReasons: []string{reasonSavepointFailed}, jobEnds: true},
	messages.OpDelete: {waiting: "deleting", okStates: []messages.JobState{messages.StateTerminated}, okReasons: []string{reasonDeleted}},
	messages.OpDispose: {waiting: "disposing the savepoint", okReasons: []string{reasonSavepointDisposed},
		failReasons: []string{reasonDisposeFailed}},
}

// verdict is what one status event means for a wait.
type verdict int

const (
	pending verdict = iota
	succeeded
	failed
)

// judge says what e, an event of the job, means for the wait of request
// requestID. Failure reasons come first: a RUNNING with savepoint_failed
// fails a savepoint.
func (o outcome) judge(e *messages.JobStatusChanged, requestID string) verdict {
	switch {
	case e.RequestID == requestID && slices.Contains(refusalReasons, e.Reason),
		slices.Contains(o.failReasons, e.Reason):
		return failed
	case slices.Contains(o.okReasons, e.Reason), slices.Contains(o.okStates, e.To):
		return succeeded
	case o.jobEnds && (slices.Contains(jobEndedStates, e.To) || e.To == messages.StateFinished):
		return failed
	}
	return pending
}

// followControl prints the state changes of req's job until the
// operation's outcome or the timeout (a *JobFailedError, as for submit).
func (w *statusWatcher) followControl(ctx context.Context, req *messages.ControlRequested, timeout time.Duration, p progress) error {
	oc := outcomes[req.Operation]
	stage := oc.waiting
	p.start(stage)
	defer p.stop()
	still := func() string { return stage }
	return w.until(ctx, req.RequestID, timeout, p, still, func(_ context.Context, ev messages.Event, _ []byte) (bool, error) {
		e, ok := ev.(*messages.JobStatusChanged)
		if !ok || e.JobKey() != req.JobKey() {
			return false, nil
		}
		stage = string(e.To)
		line := stateLine(e)
		if e.SavepointPath != "" {
			line += ", savepoint " + e.SavepointPath
		}
		switch oc.judge(e, req.RequestID) {
		case succeeded:
			p.done(line)
			return true, nil
		case failed:
			p.fail(line)
			return true, &JobFailedError{RequestID: req.RequestID, State: string(e.To), Reason: e.Reason, Message: e.Message}
		}
		p.done(line)
		p.start(stage)
		return false, nil
	})
}
