package jobstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

// ShardKeys returns the keys of the jobs of the shards (one pipelined
// SMEMBERS per shard: one round trip to a single Redis, one per node of a
// Cluster, in parallel).
func (s *Store) ShardKeys(ctx context.Context, shards ...int) ([]string, error) {
	cmds := make([]*redis.StringSliceCmd, len(shards))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sh := range shards {
			cmds[i] = p.SMembers(ctx, s.k.jobs(sh))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading jobs of %d shards: %w", len(shards), err)
	}
	var keys []string
	for _, c := range cmds {
		keys = append(keys, c.Val()...)
	}
	return keys, nil
}

// Filter selects jobs for List; empty fields match everything. Jobs of
// the workers' default Kubernetes cluster have an empty KubeCluster and
// are matched only by an empty KubeCluster filter.
type Filter struct {
	KubeCluster string
	Namespace   string
	State       messages.JobState
	ClusterID   string
}

// List returns the jobs matching f, sorted by key. In each shard it
// intersects the shard's index sets of the set fields (SINTER), or reads
// the shard's set of jobs when no indexed field is set, all shards in one
// pipeline; it keeps the keys with f.ClusterID and reads the jobs in a
// second pipeline. For the CLI, not for hot paths.
func (s *Store) List(ctx context.Context, f Filter) ([]*Job, error) {
	cmds := make([]*redis.StringSliceCmd, s.opts.Shards)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh := range cmds {
			var sets []string
			if f.KubeCluster != "" {
				sets = append(sets, s.k.kube(sh, f.KubeCluster))
			}
			if f.Namespace != "" {
				sets = append(sets, s.k.namespace(sh, f.Namespace))
			}
			if f.State != "" {
				sets = append(sets, s.k.state(sh, f.State))
			}
			switch len(sets) {
			case 0:
				cmds[sh] = p.SMembers(ctx, s.k.jobs(sh))
			case 1:
				cmds[sh] = p.SMembers(ctx, sets[0])
			default:
				cmds[sh] = p.SInter(ctx, sets...) // one shard's sets: one hash slot
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	var keys []string
	for _, c := range cmds {
		keys = append(keys, c.Val()...)
	}
	if f.ClusterID != "" {
		keys = slices.DeleteFunc(keys, func(k string) bool { return !strings.HasSuffix(k, "/"+f.ClusterID) })
	}
	slices.Sort(keys)
	jobs, err := s.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	// A job removed between the two reads is left out.
	return slices.DeleteFunc(jobs, func(j *Job) bool { return j == nil }), nil
}

// Count returns the number of jobs in each state: every known state
// (messages.JobStates, 0 when none) and every other state ever stored.
// One pipeline reads every shard's set of the states ever stored in it, a
// second one counts each of those states' set in its shard (SCARD): two
// round trips, about two commands per shard.
func (s *Store) Count(ctx context.Context) (map[messages.JobState]int64, error) {
	names := make([]*redis.StringSliceCmd, s.opts.Shards)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh := range names {
			names[sh] = p.SMembers(ctx, s.k.states(sh))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	out := map[messages.JobState]int64{}
	for _, st := range messages.JobStates() {
		out[st] = 0
	}
	type count struct {
		state messages.JobState
		cmd   *redis.IntCmd
	}
	var counts []count
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh, c := range names {
			for _, n := range c.Val() {
				st := messages.JobState(n)
				counts = append(counts, count{st, p.SCard(ctx, s.k.state(sh, st))})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	for _, c := range counts {
		out[c.state] += c.cmd.Val()
	}
	return out, nil
}
