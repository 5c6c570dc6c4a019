// Package shard splits the tracked jobs across the track worker's replicas
// with shard leases in Redis (github.com/bsm/redislock).
//
// Every job belongs to one of N shards, ShardOf(key, N): the 32-bit FNV-1a
// hash of the job key modulo N (default 128). A replica polls the jobs of
// the shards whose lease it holds; Manager.Owns answers per shard,
// Manager.Owned lists them and Manager.Changes reports gains and losses.
//
// # Keys
//
//	<Prefix>lease:<shard>  string, one per shard: the lease. Value = a random
//	                       token drawn by New (22 characters) followed by the
//	                       replica id; PX = LeaseTTL. Set with SET NX, renewed
//	                       and deleted only by the holder of the token
//	                       (compare-and-set Lua scripts of redislock).
//	<Prefix>replicas       sorted set of live replicas: member = replica id,
//	                       score = expiry in Unix ms of Redis's own clock
//	                       (now + LeaseTTL); the key expires after LeaseTTL.
//
// # Algorithm
//
// Every tick (LeaseTTL/3; the first at once) Manager.Run does, within a
// deadline of one tick:
//
//  1. Heartbeat: one Lua script reads Redis's TIME, drops the members whose
//     expiry has passed, adds this replica with expiry now + LeaseTTL and
//     returns the live replicas R.
//  2. Refresh every held lease. A refresh Redis refuses (the lease expired
//     or is someone else's) loses the shard at once; a refresh that fails
//     on a Redis error keeps the shard while it is locally valid. Shards
//     whose local validity ended are dropped, and the losses are sent on
//     Changes before anything else happens.
//  3. Fair share: with the live replica ids sorted, replica i gets N/R, plus
//     one if i < N mod R (128 over 3: 43, 43, 42). The shares add up to N,
//     so once every replica sees the same R all shards are owned.
//  4. Above the share: give up the extras (Owns turns false first, then the
//     leases are deleted) so a new replica can take them. Below it: one
//     pipelined GET of the lease keys finds the free shards, and they are
//     obtained with SET NX in an order that starts at ShardOf(replica id, N),
//     so replicas do not all race for shard 0. A replica never holds more
//     than its share.
//
// Redis errors never end Run: they are logged once when they start and once
// when they end, and the shards whose leases are still locally valid keep
// being served. On exit (ctx done) Run gives up every shard, removes its
// heartbeat and deletes its leases, so the others take over at their next
// tick. A lease a timed-out command may have set is recognised by the token
// and obtained again (redislock's Obtain is re-entrant for the same token);
// a restarted replica has a new token, so it waits for its old incarnation's
// leases to expire like everyone else.
//
// # Timing (tick = LeaseTTL/3; with the default 15 s, tick = 5 s)
//
//   - A replica killed without releasing: its leases expire in Redis at most
//     LeaseTTL after its last refresh, its heartbeat too; every other replica
//     runs a round within one tick after that. Takeover ≤ LeaseTTL + tick
//     (20 s), below the required two lease periods.
//   - A replica stopped gracefully: takeover ≤ one tick.
//   - A replica joining: the others see it and give up their extras at their
//     next round (≤ 1 tick), the joiner obtains them at its next one: fair
//     share ≤ 2 ticks (10 s; required: 30 s).
//   - A replica cut off from Redis stops owning its shards at most
//     LeaseTTL - SafetyMargin after its last successful refresh, before
//     those leases can expire in Redis.
//
// # Why a shard never has two owners
//
// A lease obtained or refreshed by a command sent at t (this host's
// monotonic clock) is owned locally until t + LeaseTTL - SafetyMargin
// (default margin LeaseTTL/5). Redis ran the command at t or later and set
// the key to expire LeaseTTL after that, by its own clock. Another replica
// can obtain the shard only after the key is gone: deleted by this replica
// (after it stopped owning it) or expired. So the ownership intervals are
// disjoint provided the two clocks measure LeaseTTL within SafetyMargin of
// each other: clock rates within 20 % (real drift is parts per million) and
// no step of the Redis host's wall clock larger than the margin during a
// lease (Redis expires keys by wall-clock time). The margin also covers a
// poll started just before Owns turned false, if the poll is shorter. The
// heartbeat uses only Redis's clock, so replicas' clocks may disagree; it
// affects only fairness, never exclusivity. Not covered: a Redis failover
// that loses acknowledged writes (asynchronous replication) can lose leases,
// and two replicas may then poll a shard for up to one lease period.
package shard
