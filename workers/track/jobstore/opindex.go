package jobstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The active-operation index: a set per shard (P opq:<shard>) of the keys
// of jobs with an operation in flight, so that the shard's owner finds a
// new operation within a round without reading every job's op_* fields.
// The control handler marks a job after RecordOp (again on every
// redelivery: marking is idempotent, so a crash between the two writes is
// repaired by the redelivery); the owner unmarks it when the operation is
// done. Register marks a job whose missing fields (a recovered job's REST
// endpoint) a deployed event filled in, so that the owner reads it again.
// A stale mark (a job swept, an operation done) costs one read.

// MarkOp adds key to its shard's active-operation index.
func (s *Store) MarkOp(ctx context.Context, key string) error {
	if err := s.rdb.SAdd(ctx, s.k.activeOps(s.ShardOf(key)), key).Err(); err != nil {
		return fmt.Errorf("marking the operation of %s: %w", key, err)
	}
	return nil
}

// UnmarkOp removes key from its shard's active-operation index.
func (s *Store) UnmarkOp(ctx context.Context, key string) error {
	if err := s.rdb.SRem(ctx, s.k.activeOps(s.ShardOf(key)), key).Err(); err != nil {
		return fmt.Errorf("unmarking the operation of %s: %w", key, err)
	}
	return nil
}

// ActiveOps returns the keys in the active-operation index of the shards,
// in one pipelined round trip.
func (s *Store) ActiveOps(ctx context.Context, shards []int) ([]string, error) {
	if len(shards) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringSliceCmd, len(shards))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sh := range shards {
			cmds[i] = p.SMembers(ctx, s.k.activeOps(sh))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the active operations of %d shards: %w", len(shards), err)
	}
	var keys []string
	for _, c := range cmds {
		keys = append(keys, c.Val()...)
	}
	return keys, nil
}
