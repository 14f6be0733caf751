-- A tenant pause or a request hold. KEYS[1] the pause (or hold) key; ARGV[1] ms, ARGV[2] reason,
-- ARGV[3] broadcast channel ('' = none), ARGV[4] what to broadcast (tenant id, or tenant|digest).
-- Extends, never shortens; publishes the resulting wait (ms from now) in the same round trip, so
-- other processes hear of it as soon as Redis does. Returns the resulting PTTL.
local cur = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[1])
local result = cur
if cur < want then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', want)
  result = want
end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. result) end
return result
