package jobstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// sweepBatch is how many expired jobs of one shard Sweep reads per round
// trip.
const sweepBatch = 500

// Sweep removes the jobs that entered a terminal state at least
// TerminalRetention before now: hash, transitions stream, savepoint
// history, recent operations and index memberships, each job in one
// script that checks again that it is still terminal and expired (a job
// resubmitted meanwhile stays). Pending outbox entries stay to be
// published. Safe to run from every replica at
// once. Returns the number of jobs removed.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int, error) {
	cutoff := strconv.FormatInt(now.Add(-s.opts.TerminalRetention).UnixMilli(), 10)
	removed := 0
	shards := s.k.all()
	for len(shards) > 0 {
		cmds := make([]*redis.StringSliceCmd, len(shards))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, sh := range shards {
				cmds[i] = p.ZRangeByScore(ctx, s.k.terminal(sh), &redis.ZRangeBy{Min: "-inf", Max: cutoff, Count: sweepBatch})
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("sweeping terminal jobs: %w", err)
		}
		var keys []string
		var full []int // shards that may have more
		for i, c := range cmds {
			keys = append(keys, c.Val()...)
			if len(c.Val()) == sweepBatch {
				full = append(full, shards[i])
			}
		}
		if len(keys) == 0 {
			return removed, nil
		}
		n, err := s.delete(ctx, keys, cutoff)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("sweeping terminal jobs: %w", err)
		}
		if n == 0 {
			return removed, nil
		}
		shards = full
	}
	return removed, nil
}

// Forget removes a job now, whatever its state: hash, transitions stream,
// savepoint history (the savepoints themselves stay where Flink wrote
// them), recent operations and index memberships (its pending outbox
// entries stay). Forgetting a job that is not stored is not an error.
func (s *Store) Forget(ctx context.Context, key string) error {
	if _, err := s.delete(ctx, []string{key}, ""); err != nil {
		return fmt.Errorf("forgetting %s: %w", key, err)
	}
	return nil
}

// delete runs the delete script for keys in one pipeline and returns how
// many job hashes it removed.
func (s *Store) delete(ctx context.Context, keys []string, cutoff string) (int, error) {
	calls := make([]call, len(keys))
	for i, k := range keys {
		sh := s.ShardOf(k)
		calls[i] = call{
			keys: []string{s.k.job(k), s.k.transitions(k), s.k.jobs(sh), s.k.terminal(sh), s.k.savepoints(k), s.k.ops(k)},
			args: []any{k, s.k.tag(sh), cutoff},
		}
	}
	cmds, err := evalMany(ctx, s.rdb, deleteScript, calls)
	n := 0
	for _, c := range cmds {
		if c != nil {
			if v, _ := c.Int64(); v == 1 {
				n++
			}
		}
	}
	return n, err
}
