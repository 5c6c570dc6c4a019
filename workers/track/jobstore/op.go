package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// RecordOutcome says what RecordOp did.
type RecordOutcome string

// RecordOp outcomes.
const (
	// OpRecorded: the operation is now the job's operation.
	OpRecorded RecordOutcome = "recorded"
	// OpDuplicate: the request id is known with the same content hash (the
	// job's operation, or one of its recent ones); nothing changed.
	OpDuplicate RecordOutcome = "duplicate"
	// OpConflict: the request id is known with another content hash;
	// nothing changed.
	OpConflict RecordOutcome = "conflict"
	// OpInProgress: another operation is in flight; nothing changed.
	OpInProgress RecordOutcome = "in_progress"
	// OpJobNotFound: the job is not stored; nothing changed.
	OpJobNotFound RecordOutcome = "job_not_found"
)

// ReasonSuperseded is the reason of the step RecordOp records for a
// savepoint or suspend a cancel superseded.
const ReasonSuperseded = "operation_superseded"

// RecentOps is how many operations of a job RecordOp remembers (request
// id and content hash) to recognise a redelivered request that is no
// longer the job's current operation.
const RecentOps = 32

// RecordResult is what RecordOp did.
type RecordResult struct {
	Outcome RecordOutcome
	// Hash is the caller's content hash; StoredHash the one stored for the
	// same request id (OpDuplicate, OpConflict) or the recorded one.
	Hash, StoredHash string
	// Current is the job's operation after the call: the one recorded, or
	// the one in flight (OpInProgress: its RequestID and Operation name
	// it), or the job's current one (OpDuplicate, OpConflict: its
	// RequestID differs when the request matched an older operation).
	// Nil for OpJobNotFound.
	Current *ops.Op
	// Superseded is the savepoint or suspend a recorded cancel replaced;
	// RecordOp has recorded its step (ReasonSuperseded) in the outbox.
	Superseded *ops.Op
}

// RecordOp records op as the job's operation, atomically (one Lua script,
// docs/redis.md "record_op"), writing nothing but the job's op_* fields
// and its list of recent operations; the job's version is not bumped, so
// the shard owner's Apply does not conflict with it.
//
//   - a job that is not stored: OpJobNotFound;
//   - op.RequestID known (the job's operation or one of its RecentOps last
//     ones) with contentHash: OpDuplicate; with another hash: OpConflict,
//     both hashes in the result;
//   - another operation in flight (phase not done): OpInProgress, with
//     that operation in Current. Except a cancel, which supersedes a
//     savepoint or suspend that Flink has not finished (phase requested or
//     triggered; one in cleanup has its savepoint already and is left to
//     finish): the superseded operation is returned and one step of it,
//     reason ReasonSuperseded, time op.RequestedAt, goes to the shard's
//     outbox in the same script;
//   - else op replaces the job's operation fields (the last done
//     operation stays until then, for status): OpRecorded.
//
// op needs a RequestID, a known Operation and Phase, and RequestedAt;
// contentHash is the request's content hash (non-empty, no spaces).
func (s *Store) RecordOp(ctx context.Context, key string, op ops.Op, contentHash string) (RecordResult, error) {
	if err := checkOp(key, &op); err != nil {
		return RecordResult{}, fmt.Errorf("recording operation: %w", err)
	}
	if op.RequestedAt.IsZero() {
		return RecordResult{}, fmt.Errorf("recording operation %s of %s: requested_at is required", op.RequestID, key)
	}
	if contentHash == "" || len(contentHash) > 128 || !hashPattern.MatchString(contentHash) {
		return RecordResult{}, fmt.Errorf("recording operation %s of %s: content hash %q is not 1 to 128 printable characters without spaces", op.RequestID, key, contentHash)
	}
	args := []any{key, op.RequestID, contentHash, string(op.Operation), s.k.of(key), ms(op.RequestedAt), RecentOps}
	args = append(args, opArgs(&op)...)
	args = append(args, fOpHash, contentHash)
	cmd, err := evalOne(ctx, s.rdb, recordOpScript, call{keys: []string{s.k.job(key), s.k.ops(key)}, args: args})
	if err != nil {
		return RecordResult{}, fmt.Errorf("recording operation %s of %s: %w", op.RequestID, key, err)
	}
	res, err := cmd.Slice()
	if err != nil || len(res) != 4 {
		return RecordResult{}, fmt.Errorf("recording operation %s of %s: unexpected script answer %v", op.RequestID, key, cmd.Val())
	}
	out, _ := res[0].(string)
	stored, _ := res[1].(string)
	r := RecordResult{Outcome: RecordOutcome(out), Hash: contentHash, StoredHash: stored}
	if r.Current, err = opFromPairs(res[2]); err != nil {
		return RecordResult{}, fmt.Errorf("recording operation %s of %s: %w", op.RequestID, key, err)
	}
	if r.Superseded, err = opFromPairs(res[3]); err != nil {
		return RecordResult{}, fmt.Errorf("recording operation %s of %s: %w", op.RequestID, key, err)
	}
	return r, nil
}

// OpStep is a step of an operation that users should see (ops.Step),
// published on the status topic like a transition.
type OpStep struct {
	// Reason is a snake_case code of at most 64 bytes (ops.Step.Reason).
	Reason string
	// Message explains the step (Flink's cause of a failure); cut to 4 KiB,
	// user information in URLs removed.
	Message string
	// SavepointPath is the savepoint the step produced, if any.
	SavepointPath string
	// Time is when the step happened; zero means time.Now().
	Time time.Time
}

// StepOf returns the OpStep of an ops.Step at time at; nil for nil.
func StepOf(st *ops.Step, at time.Time) *OpStep {
	if st == nil {
		return nil
	}
	return &OpStep{Reason: st.Reason, Message: st.Message, SavepointPath: st.SavepointPath, Time: at}
}

// UpdateOp writes next as the job's operation if the stored one is still
// requestID in phase expectPhase (compare-and-set, one Lua script,
// docs/redis.md "update_op"); the content hash stays as recorded and the
// job's version is not bumped. When step is not nil, the same script adds
// one entry of kind KindOpStep to the shard's outbox, with the event id
// "<job key>@<incarnation>.op.<request id>.<reason>".
//
// It returns false, writing nothing, when the stored operation is another
// one or in another phase, or the job is not stored: the caller reads the
// operation again (Op). A step needs next.Phase to differ from
// expectPhase, so a write retried after a lost reply finds the new phase
// and records the step only once.
func (s *Store) UpdateOp(ctx context.Context, key, requestID string, expectPhase ops.Phase, next ops.Op, step *OpStep) (bool, error) {
	if next.RequestID == "" {
		next.RequestID = requestID
	}
	if err := checkOp(key, &next); err != nil {
		return false, fmt.Errorf("updating operation: %w", err)
	}
	var errs []error
	if next.RequestID != requestID {
		errs = append(errs, fmt.Errorf("next operation's request id %q is not %q", next.RequestID, requestID))
	}
	if !knownPhase(expectPhase) {
		errs = append(errs, fmt.Errorf("expected phase %q is unknown", expectPhase))
	}
	reason, message, path, at := "", "", "", "0"
	if step != nil {
		if step.Reason == "" || len(step.Reason) > maxCode || !reasonPattern.MatchString(step.Reason) {
			errs = append(errs, fmt.Errorf("step reason %q is not snake_case of at most %d bytes", step.Reason, maxCode))
		}
		if next.Phase == expectPhase {
			errs = append(errs, fmt.Errorf("a step needs a phase change, got %s to %s", expectPhase, next.Phase))
		}
		when := step.Time
		if when.IsZero() {
			when = time.Now()
		}
		reason, message, path, at = step.Reason, capText(redact(step.Message), maxMessage), capText(redact(step.SavepointPath), maxPath), ms(when)
	}
	if len(errs) > 0 {
		return false, fmt.Errorf("updating operation %s of %s: %w", requestID, key, errors.Join(errs...))
	}
	args := []any{key, requestID, string(expectPhase), s.k.of(key), reason, message, path, at}
	args = append(args, opArgs(&next)...)
	cmd, err := evalOne(ctx, s.rdb, updateOpScript, call{keys: []string{s.k.job(key)}, args: args})
	if err != nil {
		return false, fmt.Errorf("updating operation %s of %s: %w", requestID, key, err)
	}
	n, err := cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("updating operation %s of %s: unexpected script answer %v", requestID, key, cmd.Val())
	}
	return n == 1, nil
}

// Op returns the job's operation and its request's content hash: the one
// in flight or the last one done; nil when none was recorded. A job that
// is not stored is ErrNotFound.
func (s *Store) Op(ctx context.Context, key string) (*ops.Op, string, error) {
	vals, err := s.rdb.HMGet(ctx, s.k.job(key), append([]string{fVersion}, opHashFields...)...).Result()
	if err != nil {
		return nil, "", fmt.Errorf("reading the operation of %s: %w", key, err)
	}
	if vals[0] == nil {
		return nil, "", fmt.Errorf("reading the operation of %s: %w", key, ErrNotFound)
	}
	h := map[string]string{}
	for i, f := range opHashFields {
		if v, ok := vals[i+1].(string); ok {
			h[f] = v
		}
	}
	p := &parser{h: h}
	op, hash := parseOp(p)
	if p.err != nil {
		return nil, "", fmt.Errorf("reading the operation of %s: %w", key, p.err)
	}
	return op, hash, nil
}

var (
	requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
	hashPattern      = regexp.MustCompile(`^[!-~]+$`)
)

// maxPath caps savepoint paths (the control message's limit).
const maxPath = 4096

func knownPhase(p ops.Phase) bool {
	return slices.Contains([]ops.Phase{ops.Requested, ops.Triggered, ops.Cleanup, ops.Deploy, ops.Done}, p)
}

// checkOp checks what the store relies on and bounds op's texts.
func checkOp(key string, op *ops.Op) error {
	var errs []error
	if key == "" {
		errs = append(errs, errors.New("job key is required"))
	}
	if op.RequestID == "" || len(op.RequestID) > 128 || !requestIDPattern.MatchString(op.RequestID) {
		errs = append(errs, fmt.Errorf("request id %q is not 1 to 128 letters, digits, '.', '_', ':' and '-'", op.RequestID))
	}
	if !op.Operation.IsKnown() {
		errs = append(errs, fmt.Errorf("operation %q is unknown", op.Operation))
	}
	if !knownPhase(op.Phase) {
		errs = append(errs, fmt.Errorf("phase %q is unknown", op.Phase))
	}
	if op.Result != "" && op.Result != ops.Completed && op.Result != ops.Failed {
		errs = append(errs, fmt.Errorf("result %q is unknown", op.Result))
	}
	if op.Reason != "" && (len(op.Reason) > maxCode || !reasonPattern.MatchString(op.Reason)) {
		errs = append(errs, fmt.Errorf("reason %q is not snake_case of at most %d bytes", op.Reason, maxCode))
	}
	if len(errs) > 0 {
		return fmt.Errorf("operation %s of %s: %w", op.RequestID, key, errors.Join(errs...))
	}
	op.Message = capText(redact(op.Message), maxMessage)
	op.Location = capText(redact(op.Location), maxPath)
	return nil
}

// opArgs are the op_* field/value pairs of op but its hash; an empty
// value deletes the field.
func opArgs(op *ops.Op) []any {
	req, upgrade, offline, undeployed := "", "", "", ""
	if op.Offline {
		offline = "1"
	}
	if op.Undeployed {
		undeployed = "1"
	}
	if op.Request != nil {
		if b, err := json.Marshal(op.Request); err == nil {
			req = string(b)
		}
	}
	if op.Upgrade != nil {
		// Kept without secrets, as a run's request is (run.go).
		u := *op.Upgrade
		if r, _, err := storedRequest(&u.Request); err == nil {
			u.Request = *r
		}
		if b, err := json.Marshal(&u); err == nil {
			upgrade = string(b)
		}
	}
	t := func(at time.Time) string {
		if at.IsZero() {
			return ""
		}
		return ms(at)
	}
	return []any{
		fOpRequestID, op.RequestID,
		fOpOperation, string(op.Operation),
		fOpMode, string(op.Mode),
		fOpTriggerID, op.TriggerID,
		fOpPhase, string(op.Phase),
		fOpResult, string(op.Result),
		fOpRequestedAt, t(op.RequestedAt),
		fOpDeadline, t(op.Deadline),
		fOpLocation, op.Location,
		fOpReason, op.Reason,
		fOpMessage, op.Message,
		fOpRun, op.Run,
		fOpRequest, req,
		fOpUpgrade, upgrade,
		fOpOffline, offline,
		fOpUndeployed, undeployed,
	}
}

// parseOp reads the job's operation out of a hash; nil when none.
func parseOp(p *parser) (*ops.Op, string) {
	h := p.h
	if h[fOpRequestID] == "" {
		return nil, ""
	}
	var req *messages.ControlRequested
	if r := h[fOpRequest]; r != "" {
		req = new(messages.ControlRequested)
		if err := json.Unmarshal([]byte(r), req); err != nil && p.err == nil {
			p.err = fmt.Errorf("field %s: %w", fOpRequest, err)
		}
	}
	var upgrade *messages.ImageBuilt
	if u := h[fOpUpgrade]; u != "" {
		upgrade = new(messages.ImageBuilt)
		if err := json.Unmarshal([]byte(u), upgrade); err != nil && p.err == nil {
			p.err = fmt.Errorf("field %s: %w", fOpUpgrade, err)
		}
	}
	return &ops.Op{
		Upgrade:     upgrade,
		Offline:     h[fOpOffline] == "1",
		Undeployed:  h[fOpUndeployed] == "1",
		Request:     req,
		RequestID:   h[fOpRequestID],
		TriggerID:   h[fOpTriggerID],
		Operation:   messages.Operation(h[fOpOperation]),
		Mode:        messages.Mode(h[fOpMode]),
		Phase:       ops.Phase(h[fOpPhase]),
		Result:      ops.Result(h[fOpResult]),
		RequestedAt: p.time(fOpRequestedAt),
		Deadline:    p.time(fOpDeadline),
		Location:    h[fOpLocation],
		Reason:      h[fOpReason],
		Message:     h[fOpMessage],
		Run:         h[fOpRun],
	}, h[fOpHash]
}

// opFromPairs reads an operation out of a script's flat name/value list.
func opFromPairs(v any) (*ops.Op, error) {
	list, _ := v.([]any)
	h := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		name, _ := list[i].(string)
		val, _ := list[i+1].(string)
		h[name] = val
	}
	p := &parser{h: h}
	op, _ := parseOp(p)
	return op, p.err
}
