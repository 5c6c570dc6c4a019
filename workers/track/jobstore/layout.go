package jobstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The layout record, P layout: a hash with the key layout's version and
// the shard count the track worker names its keys with, so that readers
// (the CLI, the alert worker) find the jobs without being told the
// worker's FLINKFERRY_TRACK_SHARDS. A job's keys carry its shard
// (P{<shard>}:job:<key>), so a reader with another shard count would find
// none.

// LayoutVersion is the version of the key layout this package writes:
// 2 names every key of a job after its shard's hash tag; 1 (no layout
// record) had global indexes (P jobs, P state:<STATE>, ...), refused by a
// Redis Cluster.
const LayoutVersion = 2

func layoutKey(prefix string) string { return prefix + "layout" }

// legacyJobsKey is the set of every job key of layout 1.
func legacyJobsKey(prefix string) string { return prefix + "jobs" }

// SaveLayout records the store's shard count and layout version for
// readers (the track worker does at start; every replica writes the same
// values). It reports whether Redis holds jobs in layout 1, which this
// version does not read (docs/redis.md: upgrading to layout 2).
func (s *Store) SaveLayout(ctx context.Context) (legacy bool, err error) {
	if err := s.rdb.HSet(ctx, layoutKey(s.opts.Prefix), "version", LayoutVersion, "shards", s.opts.Shards).Err(); err != nil {
		return false, fmt.Errorf("recording the key layout: %w", err)
	}
	n, err := s.rdb.Exists(ctx, legacyJobsKey(s.opts.Prefix)).Result()
	if err != nil {
		return false, fmt.Errorf("looking for jobs of layout 1: %w", err)
	}
	return n > 0, nil
}

// Open is New for readers that are not told the track worker's shard
// count: with opts.Shards 0 it takes the count from the layout record
// SaveLayout wrote (DefaultShards when there is none: no worker ran yet).
func Open(ctx context.Context, rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("jobstore: nil redis client")
	}
	if opts.Shards == 0 {
		o := opts.withDefaults()
		v, err := rdb.HGet(ctx, layoutKey(o.Prefix), "shards").Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, fmt.Errorf("reading the key layout: %w", err)
		default:
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("reading the key layout: shards %q is not a number", v)
			}
			opts.Shards = n
		}
	}
	return New(rdb, opts)
}
