-- add_savepoint: add one entry to a job's savepoint history
-- (Store.AddSavepoint), idempotent by (request_id, path).
--
-- KEYS[1] job hash          KEYS[2] savepoint history (sorted set)
-- ARGV[1] score: the savepoint's time (ms)
-- ARGV[2] the entry (JSON)  ARGV[3] its request_id   ARGV[4] its path
--
-- Returns 1 when added, 0 when an entry with the same request_id and path
-- is stored (nothing written), -1 when the job is not stored (nothing
-- written: a history must not outlive its job).
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local ok, e = pcall(cjson.decode, m)
  if ok and type(e) == 'table' then
    local req, path = e.request_id, e.path
    if type(req) ~= 'string' then req = '' end
    if type(path) ~= 'string' then path = '' end
    if req == ARGV[3] and path == ARGV[4] then return 0 end
  end
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
