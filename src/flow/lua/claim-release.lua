-- Releases an enqueue's claim on a batch, only if it is still that enqueue's own.
-- KEYS[1] the claim key; ARGV[1] the claimant's token. Returns 1 when released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
