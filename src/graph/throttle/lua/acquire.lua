-- The native engine's grant: tenant pause, request hold, then every sliding-window log, atomically.
-- KEYS[1] pause, KEYS[2..5] write / ru / reports / share-group ru logs, KEYS[6] this request's hold.
-- ARGV[1] unique call id; then per log (write, ru, reports, share): limit, window µs, cost.
-- Returns {0, 0, tight} when recorded (tight: bitmask of charged logs now >= 90 % full), else
-- {waitMs, index} (0 = pause, 1..4 = logs, 5 = the request's hold).
if redis.replicate_commands then pcall(redis.replicate_commands) end
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return {pttl, 0} end
local held = redis.call('PTTL', KEYS[6])
if held > 0 then return {held, 5} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local LOGS = 4
local worstWait, worstLog = 0, 0
for b = 1, LOGS do
  local limit = tonumber(ARGV[2 + (b - 1) * 3])
  local window = tonumber(ARGV[3 + (b - 1) * 3])
  local cost = tonumber(ARGV[4 + (b - 1) * 3])
  if cost > 0 then
    local key = KEYS[1 + b]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local used = redis.call('ZCARD', key)
    if used + cost > limit then
      -- The oldest (used + cost - limit) entries must leave the window first.
      local idx = used + cost - limit - 1
      local entry = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
      local wait = window
      if entry[2] then wait = tonumber(entry[2]) + window - now end
      local waitMs = math.floor(wait / 1000) + 1
      if waitMs > worstWait then worstWait, worstLog = waitMs, b end
    end
  end
end
if worstWait > 0 then return {worstWait, worstLog} end
local tight = 0
for b = 1, LOGS do
  local limit = tonumber(ARGV[2 + (b - 1) * 3])
  local window = tonumber(ARGV[3 + (b - 1) * 3])
  local cost = tonumber(ARGV[4 + (b - 1) * 3])
  if cost > 0 then
    local key = KEYS[1 + b]
    for i = 1, cost do redis.call('ZADD', key, now, ARGV[1] .. ':' .. i) end
    redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
    if redis.call('ZCARD', key) * 10 >= limit * 9 then tight = tight + 2 ^ (b - 1) end
  end
end
return {0, 0, tight}
