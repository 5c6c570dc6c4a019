// Package jobstore keeps the track worker's view of every tracked Flink job
// in Redis: one small hash per job, index sets for listing, a capped stream
// of transitions per job, and one outbox stream per shard from which the
// shard's owner publishes *job status changed* events.
//
// Every write is one Lua script, so a job's hash, its index memberships,
// its transition record and its outbox entry change together or not at
// all. Writes of observations ([Store.Apply]) are compare-and-set on the
// job's version: a replica that lost a shard, or read the job before
// another writer changed it, gets a conflict and writes nothing.
// Registration ([Store.Register]) is idempotent on the request id and
// ignores deployments older than the stored one, so redelivered and
// replayed *deployed* events change nothing.
//
// Each state change is recorded exactly once, by the script that makes it,
// with an event id derived from the job's incarnation (random, drawn when
// its hash is created), its new version and the new state.
// The shard owner reads the outbox ([Store.Outbox]: plain records, the
// store builds no event), publishes each entry's event with that id as
// ce_id and then acknowledges it ([Store.AckOutbox]); a crash in between
// publishes the entry again under the same id, and consumers drop ids they
// have seen.
//
// Day-2 operations (docs/day2.md) are stored with their job: the op_*
// fields of its hash hold the operation in flight or the last one done
// ([Store.RecordOp], idempotent on the request id and its content hash,
// one operation in flight per job; [Store.UpdateOp], compare-and-set on the
// request id and phase, which records a step users should see in the
// shard's outbox like a transition, [KindOpStep]). A sorted set per job
// keeps its savepoint history ([Store.AddSavepoint], [Store.Savepoints],
// [Store.TrimSavepoints]).
//
// The layout, the scripts' contracts and the cost per tracked job are in
// docs/redis.md. Every key of a job and every index is named after the
// job's shard's hash tag (P{<shard>}:job:<key>, P{<shard>}:state:<STATE>),
// so each script touches one Redis Cluster hash slot: the store works on a
// single primary (standalone or behind Sentinel) and on a Redis Cluster
// (New refuses a Ring). Readers across shards ([Store.List], [Store.Count],
// [Store.Sweep]) pipeline one command per shard; [Open] takes the shard
// count the track worker recorded ([Store.SaveLayout]).
package jobstore
