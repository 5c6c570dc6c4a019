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

// keys names every key of a Store; docs/redis.md lists them.
type keys struct{ p string }

func (k keys) job(key string) string         { return k.p + "job:" + key }
func (k keys) transitions(key string) string { return k.p + "transitions:" + key }
func (k keys) savepoints(key string) string  { return k.p + "sp:" + key }
func (k keys) ops(key string) string         { return k.p + "ops:" + key }
func (k keys) outbox(shard int) string       { return k.p + "outbox:" + strconv.Itoa(shard) }
func (k keys) shard(shard int) string        { return k.p + "shard:" + strconv.Itoa(shard) }
func (k keys) state(s messages.JobState) string {
	return k.p + "state:" + string(s)
}
func (k keys) kube(kubeCluster string) string { return k.p + "kube:" + kubeCluster }
func (k keys) namespace(ns string) string     { return k.p + "ns:" + ns }
func (k keys) jobs() string                   { return k.p + "jobs" }
func (k keys) states() string                 { return k.p + "states" }
func (k keys) terminal() string               { return k.p + "terminal" }
