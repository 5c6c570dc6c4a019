package jobstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// newOp returns an operation as the control handler records it.
func newOp(req string, op messages.Operation, phase ops.Phase) ops.Op {
	return ops.Op{
		RequestID: req, TriggerID: "trig-" + req, Operation: op, Mode: messages.ModeApplication,
		Phase: phase, RequestedAt: t0, Deadline: t0.Add(30 * time.Minute),
	}
}

func recordOp(t testing.TB, s *Store, key string, op ops.Op, hash string) RecordResult {
	t.Helper()
	r, err := s.RecordOp(context.Background(), key, op, hash)
	if err != nil {
		t.Fatalf("RecordOp(%s, %s) = %v", key, op.RequestID, err)
	}
	return r
}

func updateOp(t testing.TB, s *Store, key, req string, expect ops.Phase, next ops.Op, step *OpStep) bool {
	t.Helper()
	ok, err := s.UpdateOp(context.Background(), key, req, expect, next, step)
	if err != nil {
		t.Fatalf("UpdateOp(%s, %s) = %v", key, req, err)
	}
	return ok
}

func storedOp(t testing.TB, s *Store, key string) (*ops.Op, string) {
	t.Helper()
	op, hash, err := s.Op(context.Background(), key)
	if err != nil {
		t.Fatalf("Op(%s) = %v", key, err)
	}
	return op, hash
}

// opSteps returns the shard's outbox entries of kind KindOpStep.
func opSteps(t testing.TB, s *Store, shard int) []OutboxEntry {
	t.Helper()
	var out []OutboxEntry
	for _, e := range outbox(t, s, shard) {
		if e.Kind == KindOpStep {
			out = append(out, e)
		}
	}
	return out
}

func reqOf(op *ops.Op) string {
	if op == nil {
		return ""
	}
	return op.RequestID
}

func TestRecordOp(t *testing.T) {
	const key = "/ns/job"
	// finish moves the stored operation req from phase to done.
	finish := func(t *testing.T, s *Store, req string, phase ops.Phase) {
		op, _ := storedOp(t, s, key)
		next := *op
		next.Phase, next.Result, next.Location = ops.Done, ops.Completed, "s3://sp/"+req
		if !updateOp(t, s, key, req, phase, next, nil) {
			t.Fatalf("UpdateOp(%s to done) = false", req)
		}
	}
	for _, tt := range []struct {
		name      string
		noJob     bool
		before    func(t *testing.T, s *Store)
		op        ops.Op
		hash      string
		want      RecordOutcome
		stored    string // StoredHash
		current   string // Current.RequestID
		superseds string // Superseded.RequestID
		steps     int    // operation steps in the outbox afterwards
	}{
		{name: "job not found", noJob: true, op: newOp("a", messages.OpSavepoint, ops.Requested), hash: "h1",
			want: OpJobNotFound},
		{name: "first operation", op: newOp("a", messages.OpSavepoint, ops.Requested), hash: "h1",
			want: OpRecorded, stored: "h1", current: "a"},
		{name: "duplicate", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
		}, op: newOp("a", messages.OpSavepoint, ops.Requested), hash: "h1",
			want: OpDuplicate, stored: "h1", current: "a"},
		{name: "conflict names both hashes", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
		}, op: newOp("a", messages.OpSuspend, ops.Requested), hash: "h2",
			want: OpConflict, stored: "h1", current: "a"},
		{name: "another operation in progress", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
		}, op: newOp("b", messages.OpSuspend, ops.Requested), hash: "h2",
			want: OpInProgress, current: "a"},
		{name: "cancel supersedes a requested savepoint", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
		}, op: newOp("c", messages.OpCancel, ops.Requested), hash: "h3",
			want: OpRecorded, stored: "h3", current: "c", superseds: "a", steps: 1},
		{name: "cancel supersedes a triggered suspend", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSuspend, ops.Requested), "h1")
			updateOp(t, s, key, "a", ops.Requested, newOp("a", messages.OpSuspend, ops.Triggered), nil)
		}, op: newOp("c", messages.OpCancel, ops.Requested), hash: "h3",
			want: OpRecorded, stored: "h3", current: "c", superseds: "a", steps: 1},
		{name: "cancel leaves a suspend in cleanup to finish", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSuspend, ops.Requested), "h1")
			updateOp(t, s, key, "a", ops.Requested, newOp("a", messages.OpSuspend, ops.Cleanup), nil)
		}, op: newOp("c", messages.OpCancel, ops.Requested), hash: "h3",
			want: OpInProgress, current: "a"},
		{name: "cancel does not supersede a delete", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpDelete, ops.Requested), "h1")
		}, op: newOp("c", messages.OpCancel, ops.Requested), hash: "h3",
			want: OpInProgress, current: "a"},
		{name: "new operation after a done one", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
			finish(t, s, "a", ops.Requested)
		}, op: newOp("b", messages.OpSuspend, ops.Requested), hash: "h2",
			want: OpRecorded, stored: "h2", current: "b"},
		{name: "redelivered older operation is a duplicate", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSuspend, ops.Requested), "h1")
			finish(t, s, "a", ops.Requested)
			recordOp(t, s, key, newOp("b", messages.OpResume, ops.Requested), "h2")
		}, op: newOp("a", messages.OpSuspend, ops.Requested), hash: "h1",
			want: OpDuplicate, stored: "h1", current: "b"},
		{name: "older operation with other content conflicts", before: func(t *testing.T, s *Store) {
			recordOp(t, s, key, newOp("a", messages.OpSuspend, ops.Requested), "h1")
			finish(t, s, "a", ops.Requested)
			recordOp(t, s, key, newOp("b", messages.OpResume, ops.Requested), "h2")
		}, op: newOp("a", messages.OpCancel, ops.Requested), hash: "hx",
			want: OpConflict, stored: "h1", current: "b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rdb := client(t)
			s := newStore(t, rdb, Options{})
			shard := s.ShardOf(key)
			if !tt.noJob {
				register(t, s, deployed("ns", "job", "run-1", t0), t0)
				transition(t, s, key, messages.StateRunning, "", t0)
			}
			if tt.before != nil {
				tt.before(t, s)
			}
			var version int64
			if !tt.noJob {
				version = get(t, s, key).Version
			}
			beforeOp, beforeHash, _ := s.Op(context.Background(), key)

			r := recordOp(t, s, key, tt.op, tt.hash)
			if r.Outcome != tt.want || r.Hash != tt.hash || r.StoredHash != tt.stored ||
				reqOf(r.Current) != tt.current || reqOf(r.Superseded) != tt.superseds {
				t.Fatalf("RecordOp() = %+v (current %q, superseded %q), want %s stored %q current %q superseded %q",
					r, reqOf(r.Current), reqOf(r.Superseded), tt.want, tt.stored, tt.current, tt.superseds)
			}
			if got := len(opSteps(t, s, shard)); got != tt.steps {
				t.Errorf("%d operation steps in the outbox, want %d", got, tt.steps)
			}
			if tt.noJob {
				if n, _ := rdb.Exists(context.Background(), s.k.job(key), s.k.ops(key)).Result(); n != 0 {
					t.Errorf("RecordOp of an unknown job created %d keys", n)
				}
				return
			}
			j := get(t, s, key)
			if j.Version != version {
				t.Errorf("version %d after RecordOp, want %d (not bumped)", j.Version, version)
			}
			op, hash := storedOp(t, s, key)
			if r.Outcome != OpRecorded {
				if reqOf(op) != reqOf(beforeOp) || hash != beforeHash || op.Phase != beforeOp.Phase {
					t.Errorf("operation %+v (%s) changed to %+v (%s)", beforeOp, beforeHash, op, hash)
				}
				return
			}
			want := tt.op
			if op == nil || *op != want || hash != tt.hash {
				t.Errorf("stored operation = %+v (%s), want %+v (%s)", op, hash, want, tt.hash)
			}
			if j.Op == nil || *j.Op != want || j.OpHash != tt.hash {
				t.Errorf("Get().Op = %+v (%s), want %+v", j.Op, j.OpHash, want)
			}
			if *r.Current != want {
				t.Errorf("RecordResult.Current = %+v, want %+v", r.Current, want)
			}
			if r.Superseded != nil {
				step := opSteps(t, s, shard)[0]
				inc := rdb.HGet(context.Background(), s.k.job(key), "inc").Val()
				if step.EventID != key+"@"+inc+".op."+r.Superseded.RequestID+"."+ReasonSuperseded ||
					step.OpRequestID != r.Superseded.RequestID || step.Operation != r.Superseded.Operation ||
					step.Reason != ReasonSuperseded || !strings.Contains(step.Message, tt.op.RequestID) ||
					!step.Time.Equal(tt.op.RequestedAt) || step.To != messages.StateRunning || step.RequestID != "run-1" {
					t.Errorf("superseded step = %+v", step)
				}
			}
		})
	}
}

// The last operation stays readable after it is done, until the next one
// replaces every field (a result, a location or a failure of the old one
// must not leak into the new one).
func TestRecordOpReplacesEveryField(t *testing.T) {
	s := newStore(t, client(t), Options{})
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
	failed := newOp("a", messages.OpSavepoint, ops.Done)
	failed.Result, failed.Reason, failed.Message, failed.Location = ops.Failed, "savepoint_failed", "disk full", "s3://x"
	if !updateOp(t, s, key, "a", ops.Requested, failed, &OpStep{Reason: "savepoint_failed", Message: "disk full", Time: t0}) {
		t.Fatal("UpdateOp() = false")
	}
	if op, _ := storedOp(t, s, key); *op != failed {
		t.Errorf("done operation = %+v, want %+v kept", op, failed)
	}
	next := newOp("b", messages.OpResume, ops.Requested)
	next.TriggerID, next.Deadline = "", time.Time{}
	recordOp(t, s, key, next, "h2")
	if op, hash := storedOp(t, s, key); *op != next || hash != "h2" {
		t.Errorf("operation = %+v (%s), want %+v", op, hash, next)
	}
}

func TestUpdateOpCompareAndSet(t *testing.T) {
	const key = "/ns/job"
	triggered := newOp("a", messages.OpSavepoint, ops.Triggered)
	for _, tt := range []struct {
		name   string
		key    string
		req    string
		expect ops.Phase
		want   bool
	}{
		{"written", key, "a", ops.Requested, true},
		{"wrong phase", key, "a", ops.Cleanup, false},
		{"wrong request id", key, "b", ops.Requested, false},
		{"job not found", "/ns/other", "a", ops.Requested, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rdb := client(t)
			s := newStore(t, rdb, Options{})
			register(t, s, deployed("ns", "job", "run-1", t0), t0)
			recordOp(t, s, key, newOp("a", messages.OpSavepoint, ops.Requested), "h1")
			version := get(t, s, key).Version
			shard := s.ShardOf(key)
			pending := len(outbox(t, s, shard))
			next := triggered
			next.RequestID = tt.req
			ok := updateOp(t, s, tt.key, tt.req, tt.expect, next, &OpStep{Reason: "savepoint_triggered", Time: t0})
			if ok != tt.want {
				t.Fatalf("UpdateOp() = %v, want %v", ok, tt.want)
			}
			op, hash := storedOp(t, s, key)
			wantOp := newOp("a", messages.OpSavepoint, ops.Requested)
			if ok {
				wantOp = triggered
			}
			if *op != wantOp || hash != "h1" {
				t.Errorf("operation = %+v (%s), want %+v (h1)", op, hash, wantOp)
			}
			wantLen := pending
			if ok {
				wantLen++
			}
			if got := len(outbox(t, s, shard)); got != wantLen {
				t.Errorf("%d outbox entries, want %d", got, wantLen)
			}
			if v := get(t, s, key).Version; v != version {
				t.Errorf("version %d after UpdateOp, want %d", v, version)
			}
			if n, _ := rdb.Exists(context.Background(), s.k.job("/ns/other")).Result(); n != 0 {
				t.Error("UpdateOp created a job hash")
			}
		})
	}
}

// A reply lost after the script ran makes the caller run it again with
// the same arguments: the second run finds the new phase, writes nothing
// and records no second step. The step's event id depends only on the
// job's incarnation, the request id and the reason.
func TestUpdateOpRetriedAfterLostReply(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	d := deployed("ns", "job", "run-1", t0)
	key := d.Job.Key()
	register(t, s, d, t0)
	transition(t, s, key, messages.StateRunning, "", t0)
	recordOp(t, s, key, newOp("sp-1", messages.OpSavepoint, ops.Requested), "h1")
	updateOp(t, s, key, "sp-1", ops.Requested, newOp("sp-1", messages.OpSavepoint, ops.Triggered), nil)

	done := newOp("sp-1", messages.OpSavepoint, ops.Done)
	done.Result, done.Location = ops.Completed, "s3://savepoints/job/savepoint-0001"
	step := StepOf(&ops.Step{Reason: "savepoint_completed", SavepointPath: done.Location}, t0.Add(time.Minute))
	for i, want := range []bool{true, false} {
		if ok := updateOp(t, s, key, "sp-1", ops.Triggered, done, step); ok != want {
			t.Fatalf("UpdateOp() call %d = %v, want %v", i+1, ok, want)
		}
	}
	steps := opSteps(t, s, s.ShardOf(key))
	if len(steps) != 1 {
		t.Fatalf("%d steps in the outbox, want 1: %+v", len(steps), steps)
	}
	inc := rdb.HGet(ctx, s.k.job(key), "inc").Val()
	want := OutboxEntry{
		StreamID: steps[0].StreamID, Kind: KindOpStep, EventID: key + "@" + inc + ".op.sp-1.savepoint_completed",
		RequestID: "run-1", Job: d.Job, Mode: d.Mode, FlinkJobID: d.FlinkJobID,
		From: messages.StateRunning, To: messages.StateRunning, Reason: "savepoint_completed",
		WebUIURL: d.WebUIURL, Labels: d.Labels, Time: t0.Add(time.Minute),
		OpRequestID: "sp-1", Operation: messages.OpSavepoint, SavepointPath: done.Location,
	}
	if got := steps[0]; got.EventID != want.EventID || got.Kind != want.Kind || got.RequestID != want.RequestID ||
		got.Job != want.Job || got.Mode != want.Mode || got.FlinkJobID != want.FlinkJobID || got.From != want.From ||
		got.To != want.To || got.Reason != want.Reason || got.Message != "" || got.WebUIURL != want.WebUIURL ||
		got.Labels["team"] != "data" || !got.Time.Equal(want.Time) || got.OpRequestID != want.OpRequestID ||
		got.Operation != want.Operation || got.SavepointPath != want.SavepointPath {
		t.Errorf("step = %+v,\nwant %+v", got, want)
	}
	// Transitions keep their kind.
	for _, e := range outbox(t, s, s.ShardOf(key)) {
		if e.Kind == KindTransition && (e.OpRequestID != "" || e.To == "") {
			t.Errorf("transition entry %+v", e)
		}
	}
	if op, _ := storedOp(t, s, key); *op != done {
		t.Errorf("operation = %+v, want %+v", op, done)
	}
}

func TestOpInvalidArguments(t *testing.T) {
	s := newStore(t, client(t), Options{})
	ctx := context.Background()
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	ok := newOp("a", messages.OpSavepoint, ops.Requested)
	for _, tt := range []struct {
		name string
		edit func(op *ops.Op)
		hash string
	}{
		{"no request id", func(op *ops.Op) { op.RequestID = "" }, "h"},
		{"request id with a space", func(op *ops.Op) { op.RequestID = "a b" }, "h"},
		{"unknown operation", func(op *ops.Op) { op.Operation = "reboot" }, "h"},
		{"unknown phase", func(op *ops.Op) { op.Phase = "" }, "h"},
		{"unknown result", func(op *ops.Op) { op.Result = "maybe" }, "h"},
		{"reason not snake_case", func(op *ops.Op) { op.Reason = "Failed" }, "h"},
		{"no requested_at", func(op *ops.Op) { op.RequestedAt = time.Time{} }, "h"},
		{"no hash", func(*ops.Op) {}, ""},
		{"hash with a space", func(*ops.Op) {}, "a b"},
	} {
		op := ok
		tt.edit(&op)
		if _, err := s.RecordOp(ctx, key, op, tt.hash); err == nil {
			t.Errorf("RecordOp(%s) = nil error", tt.name)
		}
	}
	if op, _ := storedOp(t, s, key); op != nil {
		t.Fatalf("an invalid RecordOp stored %+v", op)
	}
	recordOp(t, s, key, ok, "h")
	for _, tt := range []struct {
		name   string
		req    string
		expect ops.Phase
		next   ops.Op
		step   *OpStep
	}{
		{"other request id in next", "a", ops.Requested, newOp("b", messages.OpSavepoint, ops.Triggered), nil},
		{"unknown expected phase", "a", "started", newOp("a", messages.OpSavepoint, ops.Triggered), nil},
		{"step without a phase change", "a", ops.Requested, ok, &OpStep{Reason: "savepoint_triggered"}},
		{"step without a reason", "a", ops.Requested, newOp("a", messages.OpSavepoint, ops.Triggered), &OpStep{}},
	} {
		if _, err := s.UpdateOp(ctx, key, tt.req, tt.expect, tt.next, tt.step); err == nil {
			t.Errorf("UpdateOp(%s) = nil error", tt.name)
		}
	}
	if op, _ := storedOp(t, s, key); *op != ok {
		t.Errorf("an invalid UpdateOp changed the operation to %+v", op)
	}
	// A next operation without a request id takes the expected one.
	next := newOp("", messages.OpSavepoint, ops.Triggered)
	if !updateOp(t, s, key, "a", ops.Requested, next, nil) {
		t.Error("UpdateOp(next without request id) = false")
	}
	if _, _, err := s.Op(ctx, "/ns/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Op(unknown job) = %v, want ErrNotFound", err)
	}
}

// The operation is the job's, not the run's: Apply and a new run
// (Register) leave it alone, and it goes with the job.
func TestOpOutlivesObservationsAndNewRuns(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	op := newOp("a", messages.OpSuspend, ops.Triggered)
	recordOp(t, s, key, op, "h1")
	transition(t, s, key, messages.StateRunning, "", t0)
	apply(t, s, Update{Key: key, ExpectVersion: get(t, s, key).Version, LastPoll: t0, Metrics: &Metrics{TaskManagers: 1}})
	if r := register(t, s, deployed("ns", "job", "run-2", t0.Add(time.Hour)), t0.Add(time.Hour)); r.Outcome != Resubmitted {
		t.Fatalf("Register(new run) = %+v", r)
	}
	j := get(t, s, key)
	if j.RequestID != "run-2" || j.Op == nil || *j.Op != op || j.OpHash != "h1" {
		t.Errorf("after a new run: request %s, operation %+v (%s), want %+v kept", j.RequestID, j.Op, j.OpHash, op)
	}
	if r := recordOp(t, s, key, op, "h1"); r.Outcome != OpDuplicate {
		t.Errorf("RecordOp() again after a new run = %s, want duplicate", r.Outcome)
	}
	if err := s.Forget(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, s.k.job(key), s.k.ops(key)).Result(); n != 0 {
		t.Errorf("%d keys of the operation left after Forget", n)
	}
}

// Only RecentOps request ids are remembered: the list stays bounded.
func TestRecordOpRemembersRecentOps(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	const key = "/ns/job"
	register(t, s, deployed("ns", "job", "run-1", t0), t0)
	for i := range RecentOps + 5 {
		req := "op-" + itoa(i)
		recordOp(t, s, key, newOp(req, messages.OpSavepoint, ops.Requested), "h")
		updateOp(t, s, key, req, ops.Requested, newOp(req, messages.OpSavepoint, ops.Done), nil)
	}
	if n := rdb.LLen(context.Background(), s.k.ops(key)).Val(); n != RecentOps {
		t.Errorf("%d recent operations kept, want %d", n, RecentOps)
	}
	if r := recordOp(t, s, key, newOp("op-5", messages.OpSavepoint, ops.Requested), "h"); r.Outcome != OpDuplicate {
		t.Errorf("RecordOp(recent) = %s, want duplicate", r.Outcome)
	}
	if r := recordOp(t, s, key, newOp("op-0", messages.OpSavepoint, ops.Requested), "h"); r.Outcome != OpRecorded {
		t.Errorf("RecordOp(forgotten) = %s, want recorded", r.Outcome)
	}
}
