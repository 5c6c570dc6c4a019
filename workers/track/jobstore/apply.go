package jobstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Update is one compare-and-set write of Apply. Zero fields are left as
// stored, except where said.
type Update struct {
	// Key is the job's key. Required.
	Key string
	// ExpectVersion is the version the writer read; the write happens only
	// if the stored version is still this one.
	ExpectVersion int64

	// LastPoll is the time of a successful REST poll. Setting it without
	// LastError clears the stored LastError.
	LastPoll time.Time
	// LastError is the error of a failed poll (user information in URLs
	// removed, cut to 1 KiB).
	LastError string
	// StartTime, EndTime and DurationMS are Flink's (a zero time or a
	// DurationMS <= 0 leaves the stored value).
	StartTime, EndTime time.Time
	DurationMS         int64
	// FlinkJobID replaces the stored Flink job id when set.
	FlinkJobID string
	// Metrics, when set, replace every stored metric.
	Metrics *Metrics
	// Checkpoints, when set, replace the stored checkpoint summary.
	Checkpoints *Checkpoints
	// SilentSince, when set, replaces the stored SilentSince; a pointer to
	// the zero time clears it.
	SilentSince *time.Time

	// Transition, when set and its To differs from the stored state,
	// changes the state in the same atomic write and records the
	// transition (stream and outbox).
	Transition *Transition
}

// Transition is a state change requested by Apply.
type Transition struct {
	// To is the new state, UPPER_SNAKE_CASE.
	To messages.JobState
	// Reason is a snake_case code, at most 64 bytes; may be empty.
	Reason string
	// Message explains the change to a person; cut to 4 KiB, user
	// information in URLs removed.
	Message string
	// Time is when the new state was observed; zero means time.Now().
	Time time.Time
	// OpRequestID and Operation name the day-2 operation the transition
	// is a step of (SUSPENDING, SUSPENDED, back to RUNNING after a
	// savepoint); empty for the job's own transitions. SavepointPath is the
	// savepoint the step produced, if any (user information removed, cut
	// to 4 KiB).
	OpRequestID   string
	Operation     messages.Operation
	SavepointPath string
}

// Result is the outcome of one Update, in the order of the updates.
type Result struct {
	// Version is the job's version after the write, or the stored version
	// on a conflict (0 when the job is not stored).
	Version int64
	// Conflict is true when nothing was written because the stored version
	// was not ExpectVersion, or the job is not stored (NotFound).
	Conflict bool
	// NotFound is true when the job is not stored (swept, forgotten or
	// lost with a flushed Redis).
	NotFound bool
	// Transitioned is true when the state changed and the transition was
	// recorded in the job's stream and its shard's outbox.
	Transitioned bool
}

// Apply writes updates in one pipelined round trip, one Lua script per
// update (docs/redis.md, "apply"). Each update is compare-and-set: when
// the stored version is not its ExpectVersion, nothing of it is written
// and its Result says Conflict with the stored version; otherwise its
// fields are written and the version is bumped by one. A Transition to a
// state other than the stored one moves the job between state index
// sets, appends the transition to the job's capped stream and adds one
// entry, with From = the stored state and the event id
// <key>@<incarnation>.<version>.<to>, to the shard's outbox; a terminal To also schedules the job for removal
// after TerminalRetention.
//
// Invalid updates (no key, a malformed state or reason) fail the whole
// call before anything is written. A Redis error returns the error: some
// updates may then have been written, so callers re-read the jobs.
func (s *Store) Apply(ctx context.Context, updates []Update) ([]Result, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	calls := make([]call, len(updates))
	var errs []error
	for i := range updates {
		c, err := s.applyCall(&updates[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		calls[i] = c
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("applying %d updates: %w", len(updates), errors.Join(errs...))
	}
	cmds, err := evalMany(ctx, s.rdb, applyScript, calls)
	if err != nil {
		return nil, fmt.Errorf("applying %d updates: %w", len(updates), err)
	}
	out := make([]Result, len(updates))
	for i, c := range cmds {
		res, err := c.Int64Slice()
		if err != nil || len(res) != 3 {
			return nil, fmt.Errorf("applying update of %s: unexpected script answer %v", updates[i].Key, c.Val())
		}
		switch res[0] {
		case 1:
			out[i] = Result{Version: res[1], Transitioned: res[2] == 1}
		case 0:
			out[i] = Result{Version: res[1], Conflict: true}
		default:
			out[i] = Result{Conflict: true, NotFound: true}
		}
	}
	return out, nil
}

// applyCall validates u and builds its script call.
func (s *Store) applyCall(u *Update) (call, error) {
	if u.Key == "" {
		return call{}, errors.New("update without a key")
	}
	var f fields
	if !u.LastPoll.IsZero() {
		f.time(fLastPoll, u.LastPoll)
		if u.LastError == "" {
			f.del = append(f.del, fLastError)
		}
	}
	if u.LastError != "" {
		f.str(fLastError, capText(redact(u.LastError), maxLastError))
	}
	if !u.StartTime.IsZero() {
		f.time(fStartTime, u.StartTime)
	}
	if !u.EndTime.IsZero() {
		f.time(fEndTime, u.EndTime)
	}
	if u.DurationMS > 0 {
		f.int(fDurationMS, u.DurationMS)
	}
	if u.FlinkJobID != "" {
		f.str(fFlinkJobID, u.FlinkJobID)
	}
	if u.Metrics != nil {
		f.metrics(u.Metrics)
	}
	if u.Checkpoints != nil {
		f.checkpoints(u.Checkpoints)
	}
	if u.SilentSince != nil {
		f.time(fSilentSince, *u.SilentSince)
	}

	to, reason, message, at, terminal := "", "", "", "0", "0"
	opReq, operation, path := "", "", ""
	if t := u.Transition; t != nil {
		if len(t.To) > maxCode || !statePattern.MatchString(string(t.To)) {
			return call{}, fmt.Errorf("update of %s: state %q is not UPPER_SNAKE_CASE of at most %d bytes", u.Key, t.To, maxCode)
		}
		if t.Reason != "" && (len(t.Reason) > maxCode || !reasonPattern.MatchString(t.Reason)) {
			return call{}, fmt.Errorf("update of %s: reason %q is not snake_case of at most %d bytes", u.Key, t.Reason, maxCode)
		}
		when := t.Time
		if when.IsZero() {
			when = time.Now()
		}
		to, reason, message, at = string(t.To), t.Reason, capText(redact(t.Message), maxMessage), ms(when)
		if t.OpRequestID != "" && (len(t.OpRequestID) > 128 || !requestIDPattern.MatchString(t.OpRequestID)) {
			return call{}, fmt.Errorf("update of %s: operation request id %q is not 1 to 128 letters, digits, '.', '_', ':' and '-'", u.Key, t.OpRequestID)
		}
		opReq, operation, path = t.OpRequestID, string(t.Operation), capText(redact(t.SavepointPath), maxPath)
		if t.To.IsTerminal() {
			terminal = "1"
		}
	}

	args := make([]any, 0, 13+len(f.del)+len(f.set))
	sh := s.ShardOf(u.Key)
	args = append(args, u.Key, strconv.FormatInt(u.ExpectVersion, 10), s.k.tag(sh), s.opts.TransitionsMaxLen,
		to, reason, message, at, terminal, opReq, operation, path, len(f.del))
	for _, d := range f.del {
		args = append(args, d)
	}
	args = append(args, f.set...)
	return call{
		keys: []string{s.k.job(u.Key), s.k.transitions(u.Key), s.k.terminal(sh), s.k.states(sh)},
		args: args,
	}, nil
}
