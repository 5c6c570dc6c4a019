-- delete: remove a job with its transitions, savepoint history, recent
-- operations and index memberships (Store.Sweep, Store.Forget). Its
-- pending outbox entries stay, to be published.
--
-- KEYS[1] job hash    KEYS[2] transitions stream   KEYS[3] the shard's jobs set
-- KEYS[4] terminal zset
-- KEYS[5] savepoint history   KEYS[6] recent operations list
-- ARGV[1] job key     ARGV[2] the job's shard's key prefix P{<shard>}:
-- ARGV[3] cutoff (ms): remove only a job that entered a terminal state at or
--         before it; '' removes unconditionally.
--
-- Returns 1 when a job hash was removed, else 0.
local job, key, prefix, cutoff = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if cutoff ~= '' then
  local score = redis.call('ZSCORE', KEYS[4], key)
  if not score or tonumber(score) > tonumber(cutoff) then return 0 end
end
local cur = redis.call('HMGET', job, 'shard', 'state', 'kube_cluster', 'namespace')
if cur[2] then redis.call('SREM', prefix .. 'state:' .. cur[2], key) end
if cur[4] then
  redis.call('SREM', prefix .. 'kube:' .. (cur[3] or ''), key)
  redis.call('SREM', prefix .. 'ns:' .. cur[4], key)
end
redis.call('SREM', KEYS[3], key)
redis.call('ZREM', KEYS[4], key)
redis.call('DEL', KEYS[2], KEYS[5], KEYS[6])
return redis.call('DEL', job)
