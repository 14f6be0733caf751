-- Extends an enqueue's claim on a batch while the claim is still its own.
-- KEYS[1] the claim key; ARGV[1] the claimant's token; ARGV[2] the new time to live (ms).
-- Returns 1 when extended, 0 when the claim lapsed or another enqueue holds it now.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
