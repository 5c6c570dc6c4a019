package shard

import (
	"slices"

	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// ShardOf returns the shard of a job key: the 32-bit FNV-1a hash of key
// modulo shards (0 when shards < 1). It is jobstore.ShardOf, so the store
// files a job under the shard whose lease decides who polls it.
func ShardOf(key string, shards int) int { return jobstore.ShardOf(key, shards) }

// fairShare returns how many of shards the replica self should hold when
// replicas are alive: shards/R each, and one more for the first shards%R
// replicas in sorted ID order, so the shares differ by at most one and add
// up to shards (128 over 3: 43, 43, 42). A replica missing from replicas
// (its heartbeat not seen) counts as one more, last.
func fairShare(shards int, replicas []string, self string) int {
	sorted := slices.Clone(replicas)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	rank, found := slices.BinarySearch(sorted, self)
	r := len(sorted)
	if !found {
		r++
		rank = r - 1
	}
	share := shards / r
	if rank < shards%r {
		share++
	}
	return share
}

// preference returns the shards in the order this replica tries to obtain
// them: from offset upwards, wrapping around. Replicas start at different
// offsets so that they do not all race for shard 0.
func preference(shards, offset int) []int {
	out := make([]int, shards)
	for i := range out {
		out[i] = (offset + i) % shards
	}
	return out
}
