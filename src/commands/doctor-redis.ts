/** `provflow doctor`, Redis side: reachability and settings, the secret key and the sealed values it opens. */
import { Redis } from 'ioredis';
import { connectRedis } from '../app/redis-connection.ts';
import { redisIsCluster, type Config } from '../config.ts';
import { queuesFor } from '../flow/tenant-queues.ts';
import { ledgerKeys } from '../ledger/keys.ts';
import { knownTenants } from '../ledger/tenant-ledgers.ts';
import { openSecretPairs, parseSecretKey, sealSecretPairs, type SecretKey } from '../secrets/seal.ts';
import { fail, ok, type Check } from './doctor-check.ts';

const REDIS_MIN = [6, 2];

function infoField(info: string, field: string): string | null {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? null;
}

export async function redisChecks(cfg: Config, keys: SecretKey[] | null): Promise<Check[]> {
  const checks: Check[] = [];
  const options = { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null };
  // A cluster is reached through its seed nodes and slot map, as every provflow process reaches it.
  const redis = redisIsCluster(cfg) ? connectRedis(cfg, options) : new Redis(cfg.REDIS_URL!, options);
  redis.on('error', () => {}); // reported as a failed check
  const where = cfg.REDIS_URL!.replace(/\/\/[^@/]*@/, '//***@');
  let timer: NodeJS.Timeout | undefined;
  try {
    const reach = (async () => {
      if (redis.status === 'wait') await redis.connect();
      await redis.ping();
    })();
    // A cluster retries its slot map for ever: give up after a while, as a single node does.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
    });
    reach.catch(() => {}); // once the deadline has answered, a late failure is nobody's
    await Promise.race([reach, deadline]);
  } catch (e) {
    redis.disconnect();
    clearTimeout(timer);
    return [
      fail(
        'Redis reachable',
        `${where}: ${(e as Error).message}`,
        'start Redis or fix REDIS_URL (redis://host:6379, rediss:// for TLS, credentials in the URL)',
      ),
    ];
  }
  clearTimeout(timer);
  try {
    checks.push(ok('Redis reachable', where));
    const server = await redis.info('server');
    const version = infoField(server, 'redis_version') ?? '?';
    const [maj = 0, min = 0] = version.split('.').map(Number);
    checks.push(
      maj > REDIS_MIN[0]! || (maj === REDIS_MIN[0] && min >= REDIS_MIN[1]!)
        ? ok('Redis version', version)
        : fail(
            'Redis version',
            `${version} (BullMQ needs ${REDIS_MIN.join('.')} or later)`,
            `upgrade Redis to ${REDIS_MIN.join('.')}+ (7.x recommended)`,
          ),
    );
    const memory = await redis.info('memory');
    const policy = infoField(memory, 'maxmemory_policy') ?? '?';
    checks.push(
      policy === 'noeviction'
        ? ok('Redis maxmemory-policy', 'noeviction')
        : fail(
            'Redis maxmemory-policy',
            `${policy}: under memory pressure Redis would silently drop queue and ledger keys`,
            'redis-cli CONFIG SET maxmemory-policy noeviction (and set maxmemory-policy noeviction in redis.conf)',
          ),
    );
    const persistence = await redis.info('persistence');
    checks.push(
      infoField(persistence, 'aof_enabled') === '1'
        ? ok('Redis AOF persistence', 'appendonly yes')
        : fail(
            'Redis AOF persistence',
            'appendonly no: a Redis restart loses jobs accepted since the last snapshot',
            'redis-cli CONFIG SET appendonly yes (and appendonly yes in redis.conf)',
          ),
    );
    if (keys) checks.push(await sealedValueCheck(redis, cfg.BULLMQ_PREFIX, keys));
  } catch (e) {
    checks.push(
      fail(
        'Redis commands',
        (e as Error).message,
        'give provflow a Redis user allowed INFO, PING and the queue commands',
      ),
    );
  } finally {
    redis.disconnect();
  }
  return checks;
}

/**
 * Opens one sealed value already in Redis, if there is one: the key is the one that sealed it.
 * Each tenant's part of a batch is in its own lane, so every tenant's ledger is looked at.
 */
async function sealedValueCheck(redis: Redis, base: string, keys: SecretKey[]): Promise<Check> {
  const name = 'secret key opens sealed values in Redis';
  for (const tenant of await knownTenants(redis, base)) {
    const found = await sealedValueOf(redis, ledgerKeys(queuesFor(tenant, base).prefix));
    if (!found) continue;
    const { batchId, field, sealed } = found;
    try {
      openSecretPairs(keys, sealed, `${batchId}/${field}`);
      return ok(name, `opened one of batch ${batchId}`);
    } catch {
      return fail(
        name,
        `a sealed value of batch ${batchId} does not open with PROVFLOW_SECRET_KEY` +
          (keys.length > 1 ? ' or PROVFLOW_SECRET_KEY_PREVIOUS' : ''),
        'set PROVFLOW_SECRET_KEY to the key the batch was enqueued with ' +
          '(after a rotation, the old one as PROVFLOW_SECRET_KEY_PREVIOUS)',
      );
    }
  }
  return ok(name, 'no sealed values in Redis to try');
}

async function sealedValueOf(redis: Redis, k: ReturnType<typeof ledgerKeys>) {
  for (const batchId of await redis.zrange(k.batches, 0, 50)) {
    const [field, sealed] = (await redis.hscan(k.secrets(batchId), '0', 'COUNT', 10))[1];
    if (field && sealed) return { batchId, field, sealed };
  }
  return null;
}

export function secretKeyChecks(cfg: Config): { checks: Check[]; keys: SecretKey[] | null } {
  const name = 'secret key';
  if (!cfg.PROVFLOW_SECRET_KEY) {
    return {
      checks: [
        fail(
          name,
          'PROVFLOW_SECRET_KEY is not set: credentials cannot be sealed before they reach Redis',
          'export PROVFLOW_SECRET_KEY=$(openssl rand -base64 32) (the same value for every provflow process)',
        ),
      ],
      keys: null,
    };
  }
  try {
    const keys = [parseSecretKey(cfg.PROVFLOW_SECRET_KEY, 'PROVFLOW_SECRET_KEY')];
    if (cfg.PROVFLOW_SECRET_KEY_PREVIOUS)
      keys.push(parseSecretKey(cfg.PROVFLOW_SECRET_KEY_PREVIOUS, 'PROVFLOW_SECRET_KEY_PREVIOUS'));
    const probe = [{ key: 'doctor', value: 'round-trip' }];
    const back = openSecretPairs(keys, sealSecretPairs(keys[0]!, probe, 'doctor/probe'), 'doctor/probe');
    if (back[0]?.value !== 'round-trip') throw new Error('a sealed value did not open to what was sealed');
    return {
      checks: [ok(name, `present; seal and open round trip ok${keys.length > 1 ? ' (previous key loaded too)' : ''}`)],
      keys,
    };
  } catch (e) {
    return {
      checks: [
        fail(
          name,
          (e as Error).message,
          'generate a key with: openssl rand -base64 32, and export it as PROVFLOW_SECRET_KEY',
        ),
      ],
      keys: null,
    };
  }
}
