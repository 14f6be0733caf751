-- The pause and hold half of a grant, for an engine that keeps its windows elsewhere (bottleneck).
-- KEYS[1] pause, KEYS[2] this request's hold. Returns {waitMs, index}: {0, 0} free, index 0 = pause, 5 = hold.
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return {pttl, 0} end
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return {held, 5} end
return {0, 0}
