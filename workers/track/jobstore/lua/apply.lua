-- apply: compare-and-set write of one job's observations and, optionally,
-- a state transition (Store.Apply).
--
-- KEYS[1] job hash          KEYS[2] transitions stream   KEYS[3] terminal zset
-- KEYS[4] states set
-- ARGV[1] job key           ARGV[2] expected version     ARGV[3] the shard's key prefix P{<shard>}:
-- ARGV[4] transitions maxlen
-- ARGV[5] new state ('' for none)   ARGV[6] reason   ARGV[7] message
-- ARGV[8] transition time (ms)      ARGV[9] '1' when the new state is terminal
-- ARGV[10] operation request id   ARGV[11] operation   ARGV[12] savepoint
-- path ('' when the transition is not an operation's step)
-- ARGV[13] n, the number of fields to delete, ARGV[14..13+n] those fields,
-- then field/value pairs to set.
--
-- Returns {code, version, transitioned}:
--   code 1   written; version is the new one (stored + 1); transitioned is 1
--            when the state changed (a transition and an outbox entry were added)
--   code 0   conflict: the stored version is not ARGV[2]; nothing written;
--            version is the stored one
--   code -1  no such job; nothing written; version 0
-- The transition's "from" is the stored state, read here: a new state equal
-- to it records nothing (the other fields are still written). A run
-- recovered from Kubernetes announces its first state other than STARTING
-- and K8S_INITIALIZING from '' with reason 'recovered', and none before.
local job = KEYS[1]
local key, expect, prefix, maxlen = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local to, reason, message, time, terminal = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]

local cur = redis.call('HMGET', job, 'version', 'state', 'shard', 'inc', 'recovered')
local version = tonumber(cur[1])
if not version then return {-1, 0, 0} end
if version ~= expect then return {0, version, 0} end
version = version + 1

local ndel = tonumber(ARGV[13])
if ndel > 0 then
  local del = {}
  for i = 14, 13 + ndel do del[#del + 1] = ARGV[i] end
  redis.call('HDEL', job, unpack(del))
end
local set = {'version', version}
for i = 14 + ndel, #ARGV do set[#set + 1] = ARGV[i] end
redis.call('HSET', job, unpack(set))

local from = val(cur[2])
if to == '' or to == from then return {1, version, 0} end

redis.call('HSET', job, 'state', to, 'state_since', time)
sethdel(job, 'reason', reason)
sethdel(job, 'message', message)
if from ~= '' then redis.call('SREM', prefix .. 'state:' .. from, key) end
redis.call('SADD', prefix .. 'state:' .. to, key)
redis.call('SADD', KEYS[4], to)
if terminal == '1' then
  redis.call('ZADD', KEYS[3], time, key)
else
  redis.call('ZREM', KEYS[3], key)
end
-- A run recovered from Kubernetes (register.lua) passes the registration's
-- own states silently; its first other state is announced once, from ''
-- (what it was before is unknown), reason 'recovered' (a failure keeps its
-- own reason, image_pull_failed say: that is what an alert needs).
if cur[5] then
  if to == 'STARTING' or to == 'K8S_INITIALIZING' then return {1, version, 0} end
  redis.call('HDEL', job, 'recovered')
  from = ''
  if reason == '' or (to ~= 'DEPLOY_FAILED' and to ~= 'FAILED' and to ~= 'LOST') then
    reason = 'recovered'
  end
  redis.call('HSET', job, 'reason', reason)
end
local extra = nil
if ARGV[10] ~= '' then
  extra = {'op_request_id', ARGV[10], 'operation', ARGV[11], 'savepoint_path', ARGV[12]}
end
record(job, KEYS[2], prefix .. 'outbox', key, val(cur[4]), version,
  from, to, reason, message, time, maxlen, extra)
return {1, version, 1}
