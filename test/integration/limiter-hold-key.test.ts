/**
 * A 503's hold is named in Redis by a keyed HMAC, not by a plain hash of the request: for
 * validateCredentials the body is the credential list, and whoever reads Redis must not be able
 * to test guesses of it. Real Redis, two Graph clients (each with its own limiter and connection,
 * as two worker processes have) sharing the deployment's key; HTTP answered by undici's MockAgent.
 */
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphError } from '../../src/graph/errors.ts';
import { createGraphClient } from '../../src/graph/graph-client.ts';
import { holdSecretFromSecretKey, holdSecretKeys, resolveHoldSecret } from '../../src/secrets/hold-key.ts';
import { createGraphLimiter, type GraphLimiter } from '../../src/graph/throttle/limiter.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import { createThrottle } from '../../src/graph/throttle/index.ts';

const ORIGIN = 'https://graph.test';
const TENANT = 'tenant-h';
const CANARY = 'hunter2-canary-password';
const CREDS = [
  { key: 'BaseAddress', value: 'https://api.example.test' },
  { key: 'SecretToken', value: CANARY },
];
const PATH = '/beta/servicePrincipals/sp1/synchronization/jobs/j1/validateCredentials';

let redisHandle: RedisHandle;
const conns: Redis[] = [];
const limiters: GraphLimiter[] = [];
const agents: MockAgent[] = [];

beforeAll(async () => {
  redisHandle = await testRedis();
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  for (const a of agents) await a.close();
  for (const c of conns) c.disconnect();
  await redisHandle?.close();
});

function conn(): Redis {
  const r = new Redis(redisHandle.url, { maxRetriesPerRequest: 3 });
  conns.push(r);
  return r;
}

/** One "process": its own Redis connection, limiter and HTTP agent; `sent` counts requests on the wire. */
function processWith(prefix: string, holdSecret: Buffer) {
  const limiter = createGraphLimiter({ redis: conn(), prefix, holdSecret });
  limiters.push(limiter);
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const sent: string[] = [];
  agent
    .get(ORIGIN)
    .intercept({ method: 'POST', path: PATH })
    .reply(() => {
      sent.push('validate');
      return {
        statusCode: 503,
        data: JSON.stringify({ error: { code: 'serviceNotAvailable', message: 'busy' } }),
        responseOptions: { headers: { 'content-type': 'application/json', 'retry-after': '5' } },
      };
    })
    .persist();
  const graph = createGraphClient({
    tenantId: TENANT,
    graphBaseUrl: `${ORIGIN}/beta`,
    tokenProvider: { getToken: async () => 'tok' },
    throttle: createThrottle({ limiter }),
    dispatcher: agent,
  });
  return { graph, sent };
}

const holdKeysIn = async (redis: Redis, prefix: string) => redis.keys(`${prefix}:limiter:${TENANT}:hold:*`);

describe('503 hold names', () => {
  it('a validateCredentials hold is an HMAC under the deployment key, binding clients with that key', async () => {
    const prefix = testPrefix('hold-key');
    const secret = randomBytes(32);
    const a = processWith(prefix, secret);
    const b = processWith(prefix, secret);
    const err = await a.graph.validateCredentials('sp1', 'j1', CREDS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect(a.sent).toHaveLength(1);

    const redis = conn();
    let keys: string[] = [];
    for (let i = 0; i < 50 && keys.length === 0; i++) {
      keys = await holdKeysIn(redis, prefix);
      if (keys.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(keys).toHaveLength(1);
    const name = keys[0]!.slice(`${prefix}:limiter:${TENANT}:hold:`.length);

    // Yesterday's name: sha1 of "METHOD URL sha1(body)" — anyone could compute it from a guess.
    const url = `${ORIGIN}${PATH}`;
    const body = JSON.stringify({ useSavedCredentials: false, credentials: CREDS });
    const sha1 = (s: string) => createHash('sha1').update(s).digest('base64url');
    const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
    const plain = [
      sha1(`POST ${url} ${sha1(body)}`),
      sha1(`POST ${url} ${sha256(body)}`),
      sha1(body),
      sha256(body),
      sha256(`POST ${url} ${sha256(body)}`),
    ];
    for (const p of plain) expect(name).not.toBe(p);
    expect(keys[0]).not.toContain(CANARY);
    // With the key it is the HMAC of the request's identity; with any other key it is not.
    const identity = `POST ${url} ${sha256(body)}`;
    expect(name).toBe(createHmac('sha256', secret).update(identity).digest('base64url'));
    expect(name).not.toBe(createHmac('sha256', randomBytes(32)).update(identity).digest('base64url'));

    // The hold binds the other "process" (read from Redis): refused unsent.
    const heldErr = await b.graph.validateCredentials('sp1', 'j1', CREDS).catch((e: unknown) => e);
    expect((heldErr as GraphError).code).toBe('RequestHeld');
    expect(b.sent).toHaveLength(0);
    // A limiter with another key does not find it: the key is what names the hold.
    const c = processWith(prefix, randomBytes(32));
    await c.graph.validateCredentials('sp1', 'j1', CREDS).catch(() => undefined);
    expect(c.sent).toHaveLength(1);
  });

  it('every process derives one key from PROVFLOW_SECRET_KEY, or shares one stored in Redis without it', async () => {
    const prefix = testPrefix('hold-secret');
    const redis = conn();
    const sk = Buffer.alloc(32, 7).toString('base64');
    const warnings: string[] = [];
    type HoldLogger = Parameters<typeof resolveHoldSecret>[0]['logger'];
    const logger = { warn: (_o: object, m?: string) => warnings.push(m ?? '') } as unknown as HoldLogger;
    const w1 = await resolveHoldSecret({ redis, prefix, secretKey: sk, logger });
    const w2 = await resolveHoldSecret({ redis: conn(), prefix, secretKey: sk, logger });
    expect(w1.equals(w2)).toBe(true);
    expect(w1.equals(Buffer.from(sk, 'base64'))).toBe(false); // derived, never the sealing key itself
    expect(w1.equals(holdSecretFromSecretKey(sk))).toBe(true);
    expect(await redis.exists(holdSecretKeys(prefix).stored)).toBe(0); // nothing secret stored
    expect(warnings).toEqual([]);

    // Without the key: a random one, created once and shared.
    const prefix2 = testPrefix('hold-secret2');
    const r1 = await resolveHoldSecret({ redis, prefix: prefix2, logger });
    const r2 = await resolveHoldSecret({ redis: conn(), prefix: prefix2, logger });
    expect(r1.equals(r2)).toBe(true);
    expect(warnings).toEqual([]);
    // A process with PROVFLOW_SECRET_KEY after one without: their holds would not bind, and it says so.
    await resolveHoldSecret({ redis, prefix: prefix2, secretKey: sk, logger });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('PROVFLOW_SECRET_KEY');
  });

  it('two real processes without PROVFLOW_SECRET_KEY resolve the same key (holds bind across them)', async () => {
    const prefix = testPrefix('hold-proc');
    const modulePath = path.resolve('src/secrets/hold-key.ts');
    const code = `
      import { Redis } from 'ioredis';
      import { holdSecretFingerprint, resolveHoldSecret } from ${JSON.stringify(modulePath)};
      const redis = new Redis(process.env.PF_URL);
      const secret = await resolveHoldSecret({ redis, prefix: process.env.PF_PREFIX });
      process.stdout.write(holdSecretFingerprint(secret));
      redis.disconnect();
    `;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const env = { ...process.env, PF_URL: redisHandle.url, PF_PREFIX: prefix, PROVFLOW_SECRET_KEY: '' };
        execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', code],
          { env, timeout: 30_000 },
          (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout.trim())),
        );
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).toBe(a);
  }, 40_000);
});
