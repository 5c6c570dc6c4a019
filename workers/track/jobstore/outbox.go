package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

// OutboxKind is what an outbox entry records.
type OutboxKind string

const (
	// KindTransition: a change of the job's state (register, apply).
	KindTransition OutboxKind = "transition"
	// KindOpStep: a step of a day-2 operation (UpdateOp, or RecordOp for
	// a superseded operation); not a change of the job's state.
	KindOpStep OutboxKind = "op_step"
)

// OutboxEntry is one recorded transition or operation step waiting to be
// published, as the scripts stored it in the shard's outbox, with the
// identity of the job's run, self-contained so it outlives the job's hash.
// The shard's owner turns it into a *job status changed* event
// (workers/track); the store builds no event.
type OutboxEntry struct {
	// StreamID is the entry's id in the shard's outbox stream, for
	// AckOutbox.
	StreamID string
	// Kind is KindTransition or KindOpStep.
	Kind OutboxKind
	// EventID is, for a transition,
	// "<job key>@<incarnation>.<version>.<to>": stable for the
	// entry and unique per recorded transition, also across a job hash
	// created again for the same key (new incarnation) and across a write
	// Redis lost in a failover (the same version then names the same
	// transition only if it reaches the same state). Publish with it as
	// ce_id. For an operation step it is
	// "<job key>@<incarnation>.op.<op request id>.<reason>".
	EventID string
	// RequestID is the request id of the run the transition belongs to.
	RequestID string
	// Job, Mode and FlinkJobID identify the run.
	Job        messages.JobRef
	Mode       messages.Mode
	FlinkJobID string
	// From and To are the states; From is empty for the first one. An
	// operation step changes no state: From and To are both the job's
	// state when the step was recorded.
	From, To messages.JobState
	// Reason and Message are the transition's or the step's.
	Reason, Message string
	// WebUIURL is the run's Flink web UI, when known.
	WebUIURL string
	// Labels are the run's labels.
	Labels map[string]string
	// Time is when the new state was observed, or the step happened.
	Time time.Time

	// OpRequestID, Operation and SavepointPath are an operation step's
	// (or of a transition that is one): the operation's request id
	// (RequestID is the run's), what it is, and the savepoint the step
	// produced, if any. Empty for the job's own transitions.
	OpRequestID   string
	Operation     messages.Operation
	SavepointPath string
}

// Outbox returns up to max of the shard's unpublished transitions and
// operation steps, oldest first (one job's transitions are in version
// order). The shard's owner
// publishes each with ce_id = EventID, in order, and then acknowledges
// them with AckOutbox; entries stay until acknowledged, so a crash before
// the acknowledgement publishes them again under the same ids.
func (s *Store) Outbox(ctx context.Context, shard, max int) ([]OutboxEntry, error) {
	boxes, err := s.Outboxes(ctx, []int{shard}, max)
	if err != nil {
		return nil, err
	}
	return boxes[shard], nil
}

// Outboxes is Outbox for several shards in one pipelined round trip: the
// oldest max entries of each, by shard; shards with an empty outbox are
// absent. A Redis failure fails the call; an entry that cannot be read
// leaves its shard out, with an error joined to the others' entries.
func (s *Store) Outboxes(ctx context.Context, shards []int, max int) (map[int][]OutboxEntry, error) {
	if max <= 0 {
		max = 100
	}
	cmds := make([]*redis.XMessageSliceCmd, len(shards))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sh := range shards {
			cmds[i] = p.XRangeN(ctx, s.k.outbox(sh), "-", "+", int64(max))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the outboxes of %d shards: %w", len(shards), err)
	}
	out := map[int][]OutboxEntry{}
	var errs []error
next:
	for i, c := range cmds {
		msgs := c.Val()
		if len(msgs) == 0 {
			continue
		}
		entries := make([]OutboxEntry, 0, len(msgs))
		for _, m := range msgs {
			e, err := outboxEntry(m)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading outbox of shard %d: entry %s: %w", shards[i], m.ID, err))
				continue next
			}
			entries = append(entries, e)
		}
		out[shards[i]] = entries
	}
	return out, errors.Join(errs...)
}

// AckOutbox removes published entries (by StreamID) from the shard's
// outbox. Removing an entry twice is harmless.
func (s *Store) AckOutbox(ctx context.Context, shard int, streamIDs ...string) error {
	if len(streamIDs) == 0 {
		return nil
	}
	if err := s.rdb.XDel(ctx, s.k.outbox(shard), streamIDs...).Err(); err != nil {
		return fmt.Errorf("acknowledging %d outbox entries of shard %d: %w", len(streamIDs), shard, err)
	}
	return nil
}

// OutboxLen returns the number of unpublished entries of a shard (a
// growing value means nobody publishes it).
func (s *Store) OutboxLen(ctx context.Context, shard int) (int64, error) {
	n, err := s.rdb.XLen(ctx, s.k.outbox(shard)).Result()
	if err != nil {
		return 0, fmt.Errorf("reading outbox length of shard %d: %w", shard, err)
	}
	return n, nil
}

// values reads the string fields of a stream entry.
type values map[string]any

func (v values) str(name string) string {
	s, _ := v[name].(string)
	return s
}

func (v values) int(name string) (int64, error) {
	s := v.str(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("field %s: %q is not an integer", name, s)
	}
	return n, nil
}

func (v values) time(name string) (time.Time, error) {
	n, err := v.int(name)
	if err != nil || n == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(n).UTC(), nil
}

// outboxEntry reads one entry of a shard's outbox stream.
func outboxEntry(m redis.XMessage) (OutboxEntry, error) {
	v := values(m.Values)
	at, err := v.time("time")
	if err != nil {
		return OutboxEntry{}, err
	}
	e := OutboxEntry{
		StreamID:   m.ID,
		Kind:       KindTransition,
		EventID:    v.str("event_id"),
		RequestID:  v.str("request_id"),
		Job:        messages.JobRef{KubeCluster: v.str("kube_cluster"), Namespace: v.str("namespace"), ClusterID: v.str("cluster_id")},
		Mode:       messages.Mode(v.str("mode")),
		FlinkJobID: v.str("flink_job_id"),
		From:       messages.JobState(v.str("from")),
		To:         messages.JobState(v.str("to")),
		Reason:     v.str("reason"),
		Message:    v.str("message"),
		WebUIURL:   v.str("web_ui_url"),
		Time:       at,
	}
	switch k := OutboxKind(v.str("kind")); k {
	case "", KindTransition: // transitions carry no kind
		e.OpRequestID = v.str("op_request_id")
		e.Operation = messages.Operation(v.str("operation"))
		e.SavepointPath = v.str("savepoint_path")
	case KindOpStep:
		e.Kind = k
		e.From = messages.JobState(v.str("state"))
		e.To = e.From
		e.OpRequestID = v.str("op_request_id")
		e.Operation = messages.Operation(v.str("operation"))
		e.SavepointPath = v.str("savepoint_path")
	default:
		return OutboxEntry{}, fmt.Errorf("field kind: %q is unknown", k)
	}
	if l := v.str("labels"); l != "" {
		if err := json.Unmarshal([]byte(l), &e.Labels); err != nil {
			return OutboxEntry{}, fmt.Errorf("field labels: %w", err)
		}
	}
	return e, nil
}

// TransitionRecord is one entry of a job's transitions stream.
type TransitionRecord struct {
	// StreamID is the entry's id in the stream.
	StreamID string
	// Version is the job's version the transition produced.
	Version int64
	// From and To are the states; From is empty for the first one.
	From, To messages.JobState
	// Reason and Message are the transition's.
	Reason, Message string
	// Time is when the new state was observed.
	Time time.Time
	// RequestID is the run's request id.
	RequestID string
}

// Transitions returns the job's last n transitions (at most
// Options.TransitionsMaxLen are kept), newest first.
func (s *Store) Transitions(ctx context.Context, key string, n int) ([]TransitionRecord, error) {
	if n <= 0 {
		n = int(s.opts.TransitionsMaxLen)
	}
	msgs, err := s.rdb.XRevRangeN(ctx, s.k.transitions(key), "+", "-", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading transitions of %s: %w", key, err)
	}
	out := make([]TransitionRecord, 0, len(msgs))
	for _, m := range msgs {
		v := values(m.Values)
		ver, err := v.int("version")
		if err != nil {
			return nil, fmt.Errorf("reading transitions of %s: entry %s: %w", key, m.ID, err)
		}
		at, err := v.time("time")
		if err != nil {
			return nil, fmt.Errorf("reading transitions of %s: entry %s: %w", key, m.ID, err)
		}
		out = append(out, TransitionRecord{
			StreamID: m.ID, Version: ver, From: messages.JobState(v.str("from")), To: messages.JobState(v.str("to")),
			Reason: v.str("reason"), Message: v.str("message"), Time: at, RequestID: v.str("request_id"),
		})
	}
	return out, nil
}
