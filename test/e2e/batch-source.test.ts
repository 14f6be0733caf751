/**
 * One batch id, one source file: a second file that defaults to the same id is refused (exit 2,
 * nothing written) instead of merging into the batch; the same file, fixed or moved, re-enqueues.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerKeys } from '../../src/ledger/keys.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function provflow(args: string[], env: Record<string, string>): Promise<Run> {
  const bin = path.join(ROOT, 'bin/provflow.js');
  return new Promise((resolve) => {
    const key = randomBytes(32).toString('base64');
    const options = { cwd: ROOT, env: { ...process.env, PROVFLOW_SECRET_KEY: key, ...env }, timeout: 60_000 };
    execFile(process.execPath, [bin, ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const batchJson = (names: string[]) =>
  JSON.stringify({
    defaults: { applicationTemplate: 'Amazon Web Services (AWS)', credentials: { SyncAll: { value: 'false' } } },
    instances: names.map((displayName) => ({ displayName })),
  });

let redis: RedisHandle;
let client: Redis;
let dir: string;
beforeAll(async () => {
  redis = await testRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-batch-source-'));
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('batch source files', () => {
  it('refuses a second rollout.json from another folder; the first, fixed or moved, still re-enqueues', async () => {
    const prefix = testPrefix('src');
    const env = { REDIS_URL: redis.url, BULLMQ_PREFIX: prefix };
    const keys = ledgerKeys(prefix);
    for (const d of ['team-a', 'team-b', 'moved']) mkdirSync(path.join(dir, d));
    const a = path.join(dir, 'team-a', 'rollout.json');
    const b = path.join(dir, 'team-b', 'rollout.json');
    writeFileSync(a, batchJson(['AWS Team A 1', 'AWS Team A 2']));
    writeFileSync(b, batchJson(['AWS Team B 1']));

    const first = await provflow(['enqueue', a], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe('rollout');
    const before = await client.hgetall(keys.batch('rollout'));
    expect(before.sourceFile).toBe(a);
    expect(before.sourceSha256).toMatch(/^[0-9a-f]{64}$/);

    const second = await provflow(['enqueue', b], env);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`batch 'rollout' already exists in this Redis, enqueued from ${a}`);
    expect(second.stderr).toContain('--batch-id');
    // Nothing written: metadata and instances are team A's.
    expect(await client.hgetall(keys.batch('rollout'))).toEqual(before);
    expect(await client.zcard(keys.instances('rollout'))).toBe(2);

    // The same file, fixed (an instance added), re-enqueues into its batch.
    writeFileSync(a, batchJson(['AWS Team A 1', 'AWS Team A 2', 'AWS Team A 3']));
    const fixed = await provflow(['enqueue', a, '--json'], env);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ batchId: 'rollout', added: 1, skipped: 2 });

    // The same bytes moved to another folder are the same batch file.
    const moved = path.join(dir, 'moved', 'rollout.json');
    renameSync(a, moved);
    const again = await provflow(['enqueue', moved, '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, skipped: 3 });

    // The fix the message names works.
    const own = await provflow(['enqueue', b, '--batch-id', 'rollout-team-b'], env);
    expect(own.code, own.stderr).toBe(0);
    expect(await client.zcard(keys.instances('rollout-team-b'))).toBe(1);
  }, 120_000);

  it('東京.json and 大阪.json become two batches', async () => {
    const env = { REDIS_URL: redis.url, BULLMQ_PREFIX: testPrefix('jp') };
    const tokyo = path.join(dir, '東京.json');
    const osaka = path.join(dir, '大阪.json');
    writeFileSync(tokyo, batchJson([`AWS Tokyo ${randomBytes(2).toString('hex')}`]));
    writeFileSync(osaka, batchJson([`AWS Osaka ${randomBytes(2).toString('hex')}`]));
    const [t, o] = await Promise.all([provflow(['enqueue', tokyo], env), provflow(['enqueue', osaka], env)]);
    expect(t.code, t.stderr).toBe(0);
    expect(o.code, o.stderr).toBe(0);
    expect(t.stdout.trim()).toMatch(/^batch-[0-9a-f]{8}$/);
    expect(o.stdout.trim()).toMatch(/^batch-[0-9a-f]{8}$/);
    expect(t.stdout.trim()).not.toBe(o.stdout.trim());
  }, 120_000);
});
