/**
 * The throttle's Redis scripts, read once from the `.lua` files next to this module (as BullMQ
 * keeps its commands) and registered per connection with ioredis' `defineCommand`, which sends
 * EVALSHA and falls back to EVAL on NOSCRIPT: a Redis restart never loses them.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const script = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const ACQUIRE = script('acquire');
const CHECK = script('check');
const PAUSE = script('pause');

/** What `acquire.lua` answers: `[0, 0, tight]` when recorded, else `[waitMs, index]`. */
type AcquireAnswer = [number, number, number?];

type ThrottleRedis = Redis & {
  provflowThrottleAcquire(...keysThenArgs: (string | number)[]): Promise<AcquireAnswer>;
  provflowThrottleCheck(pauseKey: string, holdKey: string): Promise<[number, number]>;
  provflowThrottlePause(key: string, ms: number, reason: string, channel: string, what: string): Promise<number>;
};

/** The connection with the throttle's commands defined (idempotent per connection). */
export function withThrottleCommands(redis: Redis): ThrottleRedis {
  const r = redis as ThrottleRedis;
  if (typeof r.provflowThrottleAcquire !== 'function') {
    redis.defineCommand('provflowThrottleAcquire', { numberOfKeys: 6, lua: ACQUIRE });
    redis.defineCommand('provflowThrottleCheck', { numberOfKeys: 2, lua: CHECK });
    redis.defineCommand('provflowThrottlePause', { numberOfKeys: 1, lua: PAUSE });
  }
  return r;
}
