-- Shared by record_op.lua and update_op.lua (prepended by scripts.go,
-- after common.lua).

-- opfields returns the job's op_* fields as a flat name/value list.
local function opfields(job)
  local out = {}
  local all = redis.call('HGETALL', job)
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 3) == 'op_' then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end

-- opstep adds one step of the job's operation req to the job's shard's
-- outbox (prefix is the shard's, P{<shard>}:). Like a transition's entry it copies the identity of the job's
-- run, so it outlives the hash; 'state' is the job's state when the step
-- is recorded (a step is not a transition). Its event id is
-- <job key>@<incarnation>.op.<request id>.<reason>: recording the same
-- step again names the same event.
local function opstep(job, prefix, key, req, operation, reason, message, path, time)
  local id = redis.call('HMGET', job, 'request_id', 'kube_cluster', 'namespace', 'cluster_id',
    'mode', 'flink_job_id', 'web_ui_url', 'labels', 'state', 'shard', 'inc')
  redis.call('XADD', prefix .. 'outbox', '*',
    'kind', 'op_step',
    'event_id', key .. '@' .. val(id[11]) .. '.op.' .. req .. '.' .. reason,
    'op_request_id', req, 'operation', operation, 'reason', reason, 'message', message,
    'savepoint_path', path, 'time', time, 'state', val(id[9]),
    'request_id', val(id[1]), 'kube_cluster', val(id[2]), 'namespace', val(id[3]),
    'cluster_id', val(id[4]), 'mode', val(id[5]), 'flink_job_id', val(id[6]),
    'web_ui_url', val(id[7]), 'labels', val(id[8]))
end
