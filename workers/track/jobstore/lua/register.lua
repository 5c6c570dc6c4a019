-- register: record a deployed run of a job (Store.Register).
--
-- KEYS[1] job hash          KEYS[2] transitions stream   KEYS[3] the shard's jobs set
-- KEYS[4] the shard's terminal zset   KEYS[5] the shard's states set           KEYS[6] kube set
-- KEYS[7] namespace set
-- ARGV[1] job key           ARGV[2] request id           ARGV[3] deployed_at (ms)
-- ARGV[4] now (ms)          ARGV[5] shard                ARGV[6] incarnation for a new hash
-- ARGV[7] transitions maxlen ARGV[8] the shard's key prefix P{<shard>}:
-- ARGV[9..] field/value pairs of the run (identity, request, endpoints, labels,
--           deployed_at, and its redeploy inputs: the run_* fields)
--
-- Returns {outcome, version, state}; outcome is
--   created      no hash: created in STARTING, version 1, transition '' -> STARTING
--                (none for a run recovered from Kubernetes: run field recovered)
--   duplicate    same request id: nothing changes (but a run the recovery
--                registered whose first real state apply has not announced
--                yet is announced now, '' -> its state, reason deployed,
--                unless this call is a recovery too; a
--                job without run_request gets the call's run_* fields when
--                they have one, version unchanged; and a job without a REST
--                endpoint, web UI, savepoint or restart policy, Flink job id or session
--                cluster gets the call's, version + 1)
--   resubmitted  another request, deployed later (ties: greater request id):
--                the hash is rebuilt for the new run in STARTING, version + 1,
--                incarnation and op_* fields (the job's operation) kept;
--                transition old -> STARTING unless already STARTING
--   stale        another request, deployed earlier: nothing changes
local job = KEYS[1]
local key, req, deployed, now, shard = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local inc, maxlen, prefix = ARGV[6], ARGV[7], ARGV[8]
local run = {}
for i = 9, #ARGV do run[#run + 1] = ARGV[i] end

-- index adds the job to the sets that do not depend on its state. (Every
-- key of the script is the shard's: a job's keys are named after its
-- shard, so a stored job never has another.)
local function index()
  redis.call('SADD', KEYS[3], key)
  redis.call('SADD', KEYS[6], key)
  redis.call('SADD', KEYS[7], key)
end

local cur = redis.call('HMGET', job, 'version', 'request_id', 'deployed_at', 'state', 'shard', 'inc')
local version = tonumber(cur[1])

if not version then
  redis.call('DEL', job)
  redis.call('HSET', job, unpack(run))
  redis.call('HSET', job, 'version', 1, 'inc', inc, 'shard', shard,
    'state', 'STARTING', 'state_since', now, 'reason', 'deployed')
  index()
  redis.call('SADD', prefix .. 'state:STARTING', key)
  redis.call('SADD', KEYS[5], 'STARTING')
  -- A run recovered from Kubernetes (field recovered) is not announced:
  -- apply announces its first real state (apply.lua).
  if redis.call('HEXISTS', job, 'recovered') == 0 then
    record(job, KEYS[2], prefix .. 'outbox', key, inc, 1, '', 'STARTING', 'deployed', '', now, maxlen)
  end
  return {'created', 1, 'STARTING'}
end

local state = val(cur[4])
if cur[2] == req then
  -- A run registered without its redeploy inputs (recovered from
  -- Kubernetes) gets them from the first call that has them.
  local inputs, has = {}, false
  for i = 1, #run, 2 do
    if string.sub(run[i], 1, 4) == 'run_' then
      inputs[#inputs + 1] = run[i]
      inputs[#inputs + 1] = run[i + 1]
      if run[i] == 'run_request' then has = true end
    end
  end
  if has and redis.call('HEXISTS', job, 'run_request') == 0 then
    redis.call('HDEL', job, 'run_redacted', 'run_jar_name', 'run_jar_artifact', 'run_jar_sha256')
    redis.call('HSET', job, unpack(inputs))
  end
  -- A run recovered from Kubernetes before its deployed event may lack
  -- what only the event knows (the REST endpoint when no rest Service was
  -- found, the savepoint policy): the first call that has it fills it in,
  -- bumping the version so the tracker reloads the job.
  local filled = false
  for i = 1, #run, 2 do
    local f = run[i]
    if (f == 'rest_endpoint' or f == 'web_ui_url' or f == 'sp_policy' or f == 'rp_policy' or f == 'flink_job_id' or f == 'session_cluster_id')
        and run[i + 1] ~= '' and redis.call('HEXISTS', job, f) == 0 then
      redis.call('HSET', job, f, run[i + 1])
      filled = true
    end
  end
  -- A run the recovery registered (field recovered) while its deployed
  -- event was on its way is a new run after all: announce it as one,
  -- from '' to the state it is in, unless apply already announced its
  -- first real state. Another recovery of the same run (every track
  -- replica recovers every Deployment) is no deployed event: it changes
  -- nothing here.
  local recovering = false
  for i = 1, #run, 2 do
    if run[i] == 'recovered' then recovering = true end
  end
  local announce = false
  if not recovering and redis.call('HEXISTS', job, 'recovered') == 1 then
    redis.call('HDEL', job, 'recovered')
    announce = true
    filled = true
  end
  if cur[5] ~= shard or filled then
    version = version + 1
    redis.call('HSET', job, 'shard', shard, 'version', version)
    index()
  end
  if filled then
    -- The shard's owner holds the job already and would not read it
    -- again: the mark makes it (workers/track, loadJob).
    redis.call('SADD', prefix .. 'opq', key)
  end
  if announce then
    redis.call('HSET', job, 'reason', 'deployed')
    record(job, KEYS[2], prefix .. 'outbox', key, val(cur[6]), version, '', state, 'deployed', '', now, maxlen)
  end
  return {'duplicate', version, state}
end

local stored, d = tonumber(cur[3]) or 0, tonumber(deployed)
if d < stored or (d == stored and req < val(cur[2])) then
  return {'stale', version, state}
end

version = version + 1
inc = cur[6] or inc
local op = {}
local all = redis.call('HGETALL', job)
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 3) == 'op_' then
    op[#op + 1] = all[i]
    op[#op + 1] = all[i + 1]
  end
end
redis.call('DEL', job)
redis.call('HSET', job, unpack(run))
if #op > 0 then redis.call('HSET', job, unpack(op)) end
redis.call('HSET', job, 'version', version, 'inc', inc, 'shard', shard,
  'state', 'STARTING', 'state_since', now, 'reason', 'resubmitted')
index()
redis.call('ZREM', KEYS[4], key)
if state ~= 'STARTING' then
  if state ~= '' then redis.call('SREM', prefix .. 'state:' .. state, key) end
  redis.call('SADD', prefix .. 'state:STARTING', key)
  redis.call('SADD', KEYS[5], 'STARTING')
  record(job, KEYS[2], prefix .. 'outbox', key, inc, version, state, 'STARTING', 'resubmitted', '', now, maxlen)
end
return {'resubmitted', version, 'STARTING'}
