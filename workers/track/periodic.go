package track

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// Periodic savepoints (SubmitRequested.Savepoints). Time after the run
// was deployed is cut into slots of the policy's interval; slot n >= 1 is
// one savepoint operation whose request id is derived from the run and n
// ("periodic-<run hash>-<n>"), so every replica and every retry names the
// same operation, which RecordOp records once (a redelivered control
// request is no different). A slot that finds another operation in flight
// is taken once it ends, unless the next slot has begun.

// periodicPrefix starts the request id of every periodic savepoint.
const periodicPrefix = "periodic-"

// periodicID is the request id of slot n of run runRequestID.
func periodicID(runRequestID string, n int64) string {
	sum := sha256.Sum256([]byte(runRequestID))
	return periodicPrefix + hex.EncodeToString(sum[:8]) + "-" + strconv.FormatInt(n, 10)
}

// isPeriodic reports whether an operation is a periodic savepoint.
func isPeriodic(op ops.Op) bool {
	return op.Operation == messages.OpSavepoint && strings.HasPrefix(op.RequestID, periodicPrefix)
}

// periodicDue queues the periodic savepoints due among the owned jobs.
func (t *Tracker) periodicDue(now time.Time, queue func(opRound)) {
	for k, j := range t.jobs {
		p := j.SavepointPolicy
		if p == nil || p.IntervalSeconds <= 0 || j.State != messages.StateRunning || j.DeployedAt.IsZero() ||
			t.opBusy[k] || (j.Op != nil && j.Op.Phase != ops.Done) || !t.owner.Owns(j.Shard) {
			continue
		}
		n := int64(now.Sub(j.DeployedAt) / (time.Duration(p.IntervalSeconds) * time.Second))
		if n < 1 || t.periodicSlot[k] >= n {
			continue
		}
		id := periodicID(j.RequestID, n)
		if j.Op != nil && j.Op.RequestID == id {
			t.periodicSlot[k] = n
			continue
		}
		queue(opRound{job: *j, periodic: id, slot: n})
	}
}

// recordPeriodic records slot r.slot's savepoint as the job's operation.
func (t *Tracker) recordPeriodic(ctx context.Context, r opRound) opDone {
	j := &r.job
	now := t.now().UTC()
	req := &messages.ControlRequested{RequestID: r.periodic, Job: j.Job, Operation: messages.OpSavepoint}
	if p := j.SavepointPolicy; p.Directory != "" || p.Format != "" {
		req.Savepoint = &messages.SavepointOptions{Directory: p.Directory, Format: p.Format}
	}
	if len(t.cfg.SavepointDirs) > 0 && req.Savepoint != nil && req.Savepoint.Directory != "" &&
		!admission.AllowedLocation(req.Savepoint.Directory, t.cfg.SavepointDirs) {
		t.log.Warn("periodic savepoint not taken: its directory is not under FLINKFERRY_TRACK_SAVEPOINT_DIRS", "job", j.Key, "slot", r.slot)
		return opDone{key: j.Key, slot: r.slot}
	}
	hash, err := contentHash(req)
	if err != nil {
		return opDone{key: j.Key}
	}
	op := ops.Op{
		RequestID: req.RequestID, TriggerID: flinkrest.TriggerID(req.RequestID), Request: req, Run: j.RequestID,
		Operation: messages.OpSavepoint, Mode: j.Mode, Phase: ops.Requested, RequestedAt: now, Deadline: now.Add(t.cfg.OperationTimeout),
	}
	if t.cfg.OperationTimeout <= 0 {
		op.Deadline = now.Add(30 * time.Minute)
	}
	res, err := t.store.RecordOp(ctx, j.Key, op, hash)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("recording a periodic savepoint", "job", j.Key, "request_id", req.RequestID, "error", err.Error())
		}
		return opDone{key: j.Key}
	}
	d := opDone{key: j.Key, slot: r.slot}
	switch res.Outcome {
	case jobstore.OpRecorded:
		_ = t.store.MarkOp(ctx, j.Key)
		d.set, d.next = true, res.Current
	case jobstore.OpInProgress:
		d.slot = 0 // taken when the operation in flight ends
	}
	return d
}
