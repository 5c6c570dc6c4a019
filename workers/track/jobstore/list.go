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
// SMEMBERS per shard, one round trip).
func (s *Store) ShardKeys(ctx context.Context, shards ...int) ([]string, error) {
	cmds := make([]*redis.StringSliceCmd, len(shards))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sh := range shards {
			cmds[i] = p.SMembers(ctx, s.k.shard(sh))
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

// List returns the jobs matching f, sorted by key. It intersects the
// index sets of the set fields (SINTER), or reads the set of all jobs
// when no indexed field is set, keeps the keys with f.ClusterID, and
// reads the jobs in one pipeline. For the CLI, not for hot paths.
func (s *Store) List(ctx context.Context, f Filter) ([]*Job, error) {
	var sets []string
	if f.KubeCluster != "" {
		sets = append(sets, s.k.kube(f.KubeCluster))
	}
	if f.Namespace != "" {
		sets = append(sets, s.k.namespace(f.Namespace))
	}
	if f.State != "" {
		sets = append(sets, s.k.state(f.State))
	}
	var cmd *redis.StringSliceCmd
	switch len(sets) {
	case 0:
		cmd = s.rdb.SMembers(ctx, s.k.jobs())
	case 1:
		cmd = s.rdb.SMembers(ctx, sets[0])
	default:
		cmd = s.rdb.SInter(ctx, sets...)
	}
	keys, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
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
func (s *Store) Count(ctx context.Context) (map[messages.JobState]int64, error) {
	names, err := s.rdb.SMembers(ctx, s.k.states()).Result()
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	states := messages.JobStates()
	for _, n := range names {
		if st := messages.JobState(n); !slices.Contains(states, st) {
			states = append(states, st)
		}
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(states))
	for i, st := range states {
		cmds[i] = pipe.SCard(ctx, s.k.state(st))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	out := make(map[messages.JobState]int64, len(states))
	for i, st := range states {
		out[st] = cmds[i].Val()
	}
	return out, nil
}
