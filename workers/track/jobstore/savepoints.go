package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// SavepointTrigger is what took a savepoint.
type SavepointTrigger string

// Savepoint triggers.
const (
	// TriggerManual: a savepoint operation (flinkferry savepoint).
	TriggerManual SavepointTrigger = "manual"
	// TriggerPeriodic: Flink's periodic savepoints
	// (execution.checkpointing.savepoint-interval).
	TriggerPeriodic SavepointTrigger = "periodic"
	// TriggerSuspend: the stop-with-savepoint of a suspend.
	TriggerSuspend SavepointTrigger = "suspend"
	// TriggerUpgrade: the savepoint of an upgrade.
	TriggerUpgrade SavepointTrigger = "upgrade"
	// TriggerRestart: the savepoint a restart of a running job took.
	TriggerRestart SavepointTrigger = "restart"
)

// SavepointEntry is one savepoint of a job's history, stored as JSON.
type SavepointEntry struct {
	// Path is where the savepoint is (user information in URLs removed,
	// at most 4 KiB); empty for a failed one that produced nothing.
	Path string `json:"path,omitempty"`
	// Time is when it completed or failed, kept to the millisecond; the
	// history is ordered by it.
	Time time.Time `json:"time"`
	// Trigger is what took it.
	Trigger SavepointTrigger `json:"trigger"`
	// Format is Flink's format (CANONICAL, NATIVE), when known.
	Format messages.SavepointFormat `json:"format,omitempty"`
	// Result is ops.Completed or ops.Failed.
	Result ops.Result `json:"result"`
	// RequestID is the request of the operation that took it; empty for a
	// periodic one.
	RequestID string `json:"request_id,omitempty"`
}

// AddSavepoint adds e to the job's savepoint history (the sorted set
// P sp:<key>, by time), idempotently: an entry with the same RequestID
// and Path is stored already, it returns false and writes nothing (one
// Lua script, docs/redis.md "add_savepoint"). A job that is not stored
// is ErrNotFound and gets no history (a history never outlives its job:
// Forget and Sweep remove it).
//
// e needs a Time, a known Trigger and Result, a RequestID or a Path (its
// identity), and a Path when it completed. The history is not bounded
// here: TrimSavepoints applies the retention.
func (s *Store) AddSavepoint(ctx context.Context, key string, e SavepointEntry) (bool, error) {
	e.Path = capText(redact(e.Path), maxPath)
	e.Time = time.UnixMilli(e.Time.UnixMilli()).UTC()
	if err := checkSavepoint(key, &e); err != nil {
		return false, fmt.Errorf("adding savepoint of %s: %w", key, err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("adding savepoint of %s: %w", key, err)
	}
	cmd, err := evalOne(ctx, s.rdb, addSavepointScript, call{
		keys: []string{s.k.job(key), s.k.savepoints(key)},
		args: []any{ms(e.Time), string(b), e.RequestID, e.Path},
	})
	if err != nil {
		return false, fmt.Errorf("adding savepoint of %s: %w", key, err)
	}
	switch n, _ := cmd.Int64(); n {
	case 1:
		return true, nil
	case 0:
		return false, nil
	case -1:
		return false, fmt.Errorf("adding savepoint of %s: %w", key, ErrNotFound)
	}
	return false, fmt.Errorf("adding savepoint of %s: unexpected script answer %v", key, cmd.Val())
}

// checkSavepoint checks what the history relies on.
func checkSavepoint(key string, e *SavepointEntry) error {
	var errs []error
	if key == "" {
		errs = append(errs, errors.New("job key is required"))
	}
	if e.Time.UnixMilli() <= 0 {
		errs = append(errs, errors.New("time is required"))
	}
	switch e.Trigger {
	case TriggerManual, TriggerPeriodic, TriggerSuspend, TriggerUpgrade, TriggerRestart:
	default:
		errs = append(errs, fmt.Errorf("trigger %q is not manual, periodic, suspend or upgrade", e.Trigger))
	}
	switch e.Result {
	case ops.Completed:
		if e.Path == "" {
			errs = append(errs, errors.New("a completed savepoint needs its path"))
		}
	case ops.Failed:
	default:
		errs = append(errs, fmt.Errorf("result %q is not completed or failed", e.Result))
	}
	switch e.Format {
	case "", messages.FormatCanonical, messages.FormatNative:
	default:
		errs = append(errs, fmt.Errorf("format %q is not CANONICAL or NATIVE", e.Format))
	}
	if e.RequestID != "" && (len(e.RequestID) > 128 || !requestIDPattern.MatchString(e.RequestID)) {
		errs = append(errs, fmt.Errorf("request id %q is not 1 to 128 letters, digits, '.', '_', ':' and '-'", e.RequestID))
	}
	if e.RequestID == "" && e.Path == "" {
		errs = append(errs, errors.New("a request id or a path is required"))
	}
	return errors.Join(errs...)
}

// Savepoints returns the job's last n savepoints (all when n <= 0),
// newest first. A job without history, or not stored, has none.
func (s *Store) Savepoints(ctx context.Context, key string, n int) ([]SavepointEntry, error) {
	stop := int64(n) - 1
	if n <= 0 {
		stop = -1
	}
	members, err := s.rdb.ZRevRange(ctx, s.k.savepoints(key), 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("reading savepoints of %s: %w", key, err)
	}
	out, err := decodeSavepoints(members)
	if err != nil {
		return nil, fmt.Errorf("reading savepoints of %s: %w", key, err)
	}
	return out, nil
}

// TrimSavepoints applies retention to the job's savepoint history,
// atomically (one Lua script, docs/redis.md "trim_savepoints"): it
// removes every entry that is not among the maxCount newest (maxCount <= 0:
// no limit by count) or is older than maxAge before now (maxAge <= 0: no
// limit by age), but never the newest completed savepoint (what a resume
// restores from), which may leave maxCount + 1 entries or one older than
// maxAge. It returns the removed entries, oldest first, for the caller to
// dispose of through Flink (the store only forgets them).
func (s *Store) TrimSavepoints(ctx context.Context, key string, maxCount int, maxAge time.Duration, now time.Time) ([]SavepointEntry, error) {
	if maxCount <= 0 && maxAge <= 0 {
		return nil, nil
	}
	cutoff := ""
	if maxAge > 0 {
		cutoff = strconv.FormatInt(now.Add(-maxAge).UnixMilli(), 10)
	}
	cmd, err := evalOne(ctx, s.rdb, trimSavepointsScript, call{
		keys: []string{s.k.savepoints(key)},
		args: []any{max(maxCount, 0), cutoff},
	})
	if err != nil {
		return nil, fmt.Errorf("trimming savepoints of %s: %w", key, err)
	}
	members, err := cmd.StringSlice()
	if err != nil {
		return nil, fmt.Errorf("trimming savepoints of %s: unexpected script answer %v", key, cmd.Val())
	}
	out, err := decodeSavepoints(members)
	if err != nil {
		// Removed already: return what could be read.
		return out, fmt.Errorf("trimming savepoints of %s: removed %d entries: %w", key, len(members), err)
	}
	return out, nil
}

// RemoveSavepoint removes every entry of the job's savepoint history
// whose Path is path (its user information removed and capped as
// AddSavepoint stores it), atomically (one Lua script, docs/redis.md
// "remove_savepoint"), and reports whether one was removed. Unlike
// TrimSavepoints it may remove the newest completed savepoint: the caller
// says the savepoint is gone (disposed of, or found unusable). A job
// without history, or not stored, has nothing to remove.
func (s *Store) RemoveSavepoint(ctx context.Context, key, path string) (bool, error) {
	path = capText(redact(path), maxPath)
	if path == "" {
		return false, fmt.Errorf("removing savepoint of %s: a path is required", key)
	}
	cmd, err := evalOne(ctx, s.rdb, removeSavepointScript, call{
		keys: []string{s.k.savepoints(key)},
		args: []any{path},
	})
	if err != nil {
		return false, fmt.Errorf("removing savepoint of %s: %w", key, err)
	}
	n, err := cmd.Int64()
	if err != nil {
		return false, fmt.Errorf("removing savepoint of %s: unexpected script answer %v", key, cmd.Val())
	}
	return n > 0, nil
}

// HasSavepoint reports whether the job's savepoint history holds a
// completed entry whose Path is path (redacted and capped as AddSavepoint
// stores it). It reads the whole history, which retention bounds.
func (s *Store) HasSavepoint(ctx context.Context, key, path string) (bool, error) {
	path = capText(redact(path), maxPath)
	if path == "" {
		return false, nil
	}
	members, err := s.rdb.ZRange(ctx, s.k.savepoints(key), 0, -1).Result()
	if err != nil {
		return false, fmt.Errorf("reading savepoints of %s: %w", key, err)
	}
	// An entry that does not decode (written by hand) does not hide one
	// that matches.
	es, err := decodeSavepoints(members)
	for _, e := range es {
		if e.Path == path && e.Result == ops.Completed {
			return true, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("reading savepoints of %s: %w", key, err)
	}
	return false, nil
}

// decodeSavepoints decodes history members, skipping the ones that are
// not an entry (written by hand) with an error naming them.
func decodeSavepoints(members []string) ([]SavepointEntry, error) {
	out := make([]SavepointEntry, 0, len(members))
	var errs []error
	for _, m := range members {
		var e SavepointEntry
		if err := json.Unmarshal([]byte(m), &e); err != nil {
			errs = append(errs, fmt.Errorf("entry %q: %w", m, err))
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}
