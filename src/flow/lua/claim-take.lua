-- Takes over a claim whose holder is known to be dead, only if it is still that holder's.
-- KEYS[1] the claim key; ARGV[1] the dead holder's token; ARGV[2] the new token; ARGV[3] time to live (ms).
-- Returns 1 when taken over, 0 when the claim changed meanwhile.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
