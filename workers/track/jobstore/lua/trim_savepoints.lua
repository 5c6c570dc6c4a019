-- trim_savepoints: apply retention to a job's savepoint history
-- (Store.TrimSavepoints).
--
-- KEYS[1] savepoint history (sorted set, score = time in ms)
-- ARGV[1] keep at most this many entries, newest first ('0': no limit)
-- ARGV[2] remove entries older than this time in ms ('': no limit)
--
-- An entry goes when it is not among the ARGV[1] newest or its time is
-- before ARGV[2], except the newest entry whose result is completed, which
-- always stays (it is what a resume restores from). Returns the removed
-- entries, oldest first.
local maxcount = tonumber(ARGV[1])
local cutoff = tonumber(ARGV[2])
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local n = #all / 2

local keep = 0
for i = n, 1, -1 do
  local ok, e = pcall(cjson.decode, all[2 * i - 1])
  if ok and type(e) == 'table' and e.result == 'completed' then
    keep = i
    break
  end
end

local removed = {}
for i = 1, n do
  local byCount = maxcount > 0 and n - i >= maxcount
  local byAge = cutoff ~= nil and tonumber(all[2 * i]) < cutoff
  if i ~= keep and (byCount or byAge) then removed[#removed + 1] = all[2 * i - 1] end
end
for i = 1, #removed, 1000 do
  redis.call('ZREM', KEYS[1], unpack(removed, i, math.min(i + 999, #removed)))
end
return removed
