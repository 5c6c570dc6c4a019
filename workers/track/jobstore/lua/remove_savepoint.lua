-- remove_savepoint: remove every entry with a path from a job's savepoint
-- history (Store.RemoveSavepoint).
--
-- KEYS[1] savepoint history (sorted set)
-- ARGV[1] the path (as stored: redacted and capped by the caller)
--
-- Returns the number of entries removed (0 when none has the path, or
-- there is no history).
local removed = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local ok, e = pcall(cjson.decode, m)
  if ok and type(e) == 'table' and e.path == ARGV[1] then
    removed[#removed + 1] = m
  end
end
for i = 1, #removed, 1000 do
  redis.call('ZREM', KEYS[1], unpack(removed, i, math.min(i + 999, #removed)))
end
return #removed
