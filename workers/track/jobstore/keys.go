package jobstore

import (
	"hash/fnv"
	"strconv"

	"github.com/flinkferry/flinkferry/messages"
)

// ShardOf returns the shard of a job key: the 32-bit FNV-1a hash of key
// modulo shards, or 0 when shards < 1. The shard-lease package uses the
// same function, so a job and its lease agree.
func ShardOf(key string, shards int) int {
	if shards < 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(shards))
}

// keys names every key of a Store; docs/redis.md lists them. Every key of
// a job and every index lives under its shard's hash tag, P{<shard>}:, so
// that each script (and each pipelined read of one shard) touches one
// Redis Cluster hash slot. There is no key across shards: List, Count
// and Sweep read every shard.
type keys struct {
	p      string
	shards int
}

// tag is the start of every key of shard: P{<shard>}:.
func (k keys) tag(shard int) string { return k.p + "{" + strconv.Itoa(shard) + "}:" }

// of is the start of every key of the job key.
func (k keys) of(key string) string { return k.tag(ShardOf(key, k.shards)) }

func (k keys) job(key string) string         { return k.of(key) + "job:" + key }
func (k keys) transitions(key string) string { return k.of(key) + "transitions:" + key }
func (k keys) savepoints(key string) string  { return k.of(key) + "sp:" + key }
func (k keys) ops(key string) string         { return k.of(key) + "ops:" + key }

// The shard's outbox stream, its set of jobs and its indexes.
func (k keys) outbox(shard int) string    { return k.tag(shard) + "outbox" }
func (k keys) jobs(shard int) string      { return k.tag(shard) + "jobs" }
func (k keys) states(shard int) string    { return k.tag(shard) + "states" }
func (k keys) terminal(shard int) string  { return k.tag(shard) + "terminal" }
func (k keys) activeOps(shard int) string { return k.tag(shard) + "opq" }
func (k keys) state(shard int, s messages.JobState) string {
	return k.tag(shard) + "state:" + string(s)
}
func (k keys) kube(shard int, kubeCluster string) string {
	return k.tag(shard) + "kube:" + kubeCluster
}
func (k keys) namespace(shard int, ns string) string { return k.tag(shard) + "ns:" + ns }

// all returns 0 .. shards-1.
func (k keys) all() []int {
	out := make([]int, k.shards)
	for i := range out {
		out[i] = i
	}
	return out
}

// JobHashKey is the name of the hash of the job key under prefix and
// shards (P{<shard>}:job:<key>), for tools that read its fields directly
// (docs/redis.md lists them).
func JobHashKey(prefix string, shards int, key string) string {
	return keys{p: prefix, shards: shards}.job(key)
}
