-- update_op: compare-and-set write of a job's operation (Store.UpdateOp),
-- with an optional step to publish. The job's version does not change.
--
-- KEYS[1] job hash
-- ARGV[1] job key           ARGV[2] request id      ARGV[3] expected phase
-- ARGV[4] the job's shard's key prefix P{<shard>}:
-- ARGV[5] step reason ('' for no step)   ARGV[6] step message
-- ARGV[7] step savepoint path            ARGV[8] step time (ms)
-- ARGV[9..] op_* field/value pairs ('' deletes the field)
--
-- Returns 1 when written (and the step, if any, added to the shard's
-- outbox), 0 when the stored operation is not ARGV[2] in phase ARGV[3]
-- (nothing written), -1 when the job is not stored.
local job = KEYS[1]
local key, req, expect, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local reason, message, path, time = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

local cur = redis.call('HMGET', job, 'version', 'op_request_id', 'op_phase')
if not cur[1] then return -1 end
if cur[2] ~= req or cur[3] ~= expect then return 0 end
for i = 9, #ARGV, 2 do sethdel(job, ARGV[i], ARGV[i + 1]) end
if reason ~= '' then
  opstep(job, prefix, key, req, val(redis.call('HGET', job, 'op_operation')), reason, message, path, time)
end
return 1
