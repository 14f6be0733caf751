/**
 * Test helper: every test file gets its own redis-server (or REDIS_URL) and its own queue prefix.
 * PROVFLOW_TEST_REDIS=container gives it a Redis container instead (obtainRedis; image from
 * PROVFLOW_REDIS_IMAGE, default redis:7), own or shared alike: scripts/test-containers.sh runs
 * a few files that way on Debian trixie's Redis 8.
 */
import { randomBytes } from 'node:crypto';
import { obtainRedis, type RedisHandle, type SpawnRedisOptions } from '../../src/dev/redis-server.ts';

export { type RedisHandle };

/** A Redis for a test file. Pass `own: true` when the test stops, kills or restarts the server. */
export async function testRedis(opts: { own?: boolean; spawn?: SpawnRedisOptions } = {}): Promise<RedisHandle> {
  return obtainRedis({ preferSpawn: opts.own ?? false, spawn: opts.spawn });
}

/** A unique BullMQ prefix so tests never see each other's queues, even on a shared REDIS_URL. */
export function testPrefix(name: string): string {
  return `{pft-${name}-${randomBytes(3).toString('hex')}}`;
}
