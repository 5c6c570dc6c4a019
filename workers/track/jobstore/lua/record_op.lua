-- record_op: record a day-2 operation on a job (Store.RecordOp). Neither
-- the job's version nor anything but its op_* fields and its list of
-- recent operations changes.
--
-- KEYS[1] job hash          KEYS[2] the job's recent operations list
-- ARGV[1] job key           ARGV[2] request id      ARGV[3] content hash
-- ARGV[4] operation         ARGV[5] the job's shard's key prefix P{<shard>}:      ARGV[6] requested_at (ms)
-- ARGV[7] how many recent operations to remember
-- ARGV[8..] op_* field/value pairs of the operation ('' deletes the field)
--
-- The recent operations list holds '<request id> <content hash>', newest
-- first, capped at ARGV[7]: a redelivered request older than the current
-- operation is still known.
--
-- Returns {outcome, hash, op fields, superseded op fields}; outcome is
--   job_not_found  no job hash: nothing written
--   duplicate      the request id is known with the same hash (the current
--                  operation or a recent one): nothing written
--   conflict       the request id is known with another hash, returned as
--                  hash: nothing written
--   in_progress    another operation is in flight (phase not done):
--                  nothing written; op fields are the in-flight one's
--   recorded       the operation replaced the op_* fields. A cancel
--                  supersedes a savepoint or suspend that Flink has not
--                  finished (phase requested or triggered): its fields are
--                  returned as the fourth element and one step
--                  'operation_superseded' of it goes to the outbox.
-- op fields are the job's op_* fields after the call, as name/value pairs.
local job, recent = KEYS[1], KEYS[2]
local key, req, hash, operation, prefix, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local keep = tonumber(ARGV[7])

local cur = redis.call('HMGET', job, 'version', 'op_request_id', 'op_hash', 'op_phase', 'op_operation')
if not cur[1] then return {'job_not_found', '', {}, {}} end
if cur[2] == req then
  if cur[3] == hash then return {'duplicate', hash, opfields(job), {}} end
  return {'conflict', val(cur[3]), opfields(job), {}}
end
for _, e in ipairs(redis.call('LRANGE', recent, 0, -1)) do
  local sp = string.find(e, ' ', 1, true)
  if sp and string.sub(e, 1, sp - 1) == req then
    local h = string.sub(e, sp + 1)
    if h == hash then return {'duplicate', h, opfields(job), {}} end
    return {'conflict', h, opfields(job), {}}
  end
end

local superseded = {}
if cur[2] and cur[4] ~= 'done' then
  local pending = cur[4] == 'requested' or cur[4] == 'triggered'
  if operation == 'cancel' and pending and (cur[5] == 'savepoint' or cur[5] == 'suspend') then
    superseded = opfields(job)
    opstep(job, prefix, key, cur[2], cur[5], 'operation_superseded',
      'superseded by cancel ' .. req, '', at)
  else
    return {'in_progress', '', opfields(job), {}}
  end
end

for i = 8, #ARGV, 2 do sethdel(job, ARGV[i], ARGV[i + 1]) end
redis.call('LPUSH', recent, req .. ' ' .. hash)
redis.call('LTRIM', recent, 0, keep - 1)
return {'recorded', hash, opfields(job), superseded}
