-- Shared by register.lua and apply.lua (prepended by scripts.go).

-- val turns a missing hash field (false) into ''.
local function val(v)
  if v then return v end
  return ''
end

-- record writes one transition of the job whose hash is job: to its capped
-- transitions stream and to its shard's outbox. The outbox entry copies the
-- job's identity, so it stays self-contained when the hash changes or goes
-- away before the entry is published. Its event id is
-- <job key>@<incarnation>.<version>.<to>. extra (a flat name/value list,
-- or nil) is added to the outbox entry: the operation a transition is a
-- step of.
local function record(job, stream, outbox, key, inc, version, from, to, reason, message, time, maxlen, extra)
  local id = redis.call('HMGET', job, 'request_id', 'kube_cluster', 'namespace', 'cluster_id',
    'mode', 'flink_job_id', 'web_ui_url', 'labels')
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
    'version', version, 'from', from, 'to', to, 'reason', reason, 'message', message,
    'time', time, 'request_id', val(id[1]))
  local entry = {
    'event_id', key .. '@' .. inc .. '.' .. version .. '.' .. to,
    'from', from, 'to', to, 'reason', reason, 'message', message, 'time', time,
    'request_id', val(id[1]), 'kube_cluster', val(id[2]), 'namespace', val(id[3]),
    'cluster_id', val(id[4]), 'mode', val(id[5]), 'flink_job_id', val(id[6]),
    'web_ui_url', val(id[7]), 'labels', val(id[8])}
  if extra then
    for i = 1, #extra do entry[#entry + 1] = extra[i] end
  end
  redis.call('XADD', outbox, '*', unpack(entry))
end

-- sethdel sets a hash field, or deletes it when value is ''.
local function sethdel(job, field, value)
  if value == '' then
    redis.call('HDEL', job, field)
  else
    redis.call('HSET', job, field, value)
  end
end
