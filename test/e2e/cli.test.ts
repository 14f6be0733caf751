/** The real CLI as a user runs it: `provflow demo --json`, `enqueue`, `status`, `plan`. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GOOD = path.join(ROOT, 'test/fixtures/good-batches');

function provflow(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 170_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/provflow.js'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let redis: RedisHandle;
beforeAll(async () => {
  redis = await testRedis({ own: true });
});
afterAll(async () => {
  await redis?.close();
});

describe('provflow CLI', () => {
  it('demo --instances 50 --json: each instance ends as configured (quarantines, failing smoke tests, an unknown group), no duplicates, exit 0', async () => {
    const r = await provflow(['demo', '--instances', '50', '--json'], { REDIS_URL: redis.url });
    expect(r.code, `${r.stdout}\n${r.stderr.slice(-3000)}`).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    // One in 20 is configured to quarantine (instances 18 and 38 of 50); two SCIM instances
    // smoke-test a user the target app rejects (11, 35) and one AWS instance names a group
    // that does not exist (13): those three fail, each alone.
    expect(summary).toMatchObject({
      instances: 50,
      steady: 45,
      quarantined: 2,
      failed: 3,
      lost: 0,
      unexpected: 0,
      duplicateApplications: 0,
      retryAfterViolations: 0,
      // Every third instance is SCIM-style (17 of 50): its schema is edited before the job starts
      // (so also on those that later quarantine or fail their smoke test), and smoke-tested unless
      // configured to quarantine.
      schemaUpdated: 17,
      smokeTestsPassed: 14,
      smokeTestsFailed: 2,
    });
    // Sales on every instance that got that far; AWS Admins (Admin, imported by the first cycle) on every fifth AWS one.
    expect(summary.assignments).toBeGreaterThanOrEqual(45);
    for (const key of ['throttled', 'durationMs']) expect(typeof summary[key]).toBe('number');
  }, 180_000);

  it('enqueue then status: prints the batch id, a table, and JSON behind --json; enqueueing again adds nothing', async () => {
    const env = {
      REDIS_URL: redis.url,
      BULLMQ_PREFIX: `{cli-${randomBytes(3).toString('hex')}}`,
      PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
      PROVFLOW_EXAMPLE_AWS_SECRET_TOKEN: 'tok-not-real',
    };
    const first = await provflow(['enqueue', path.join(GOOD, 'minimal.json'), '--batch-id', 'cli-min'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe('cli-min');
    expect(first.stderr).toMatch(/1 added/);
    const again = await provflow(['enqueue', path.join(GOOD, 'minimal.json'), '--batch-id', 'cli-min', '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, skipped: 1 });
    const status = await provflow(['status', 'cli-min'], env);
    expect(status.stdout).toMatch(/AWS Minimal\s+queued/);
    expect(status.stdout).toMatch(/batch cli-min: 1 instances/);
    const json = JSON.parse((await provflow(['status', 'cli-min', '--json'], env)).stdout) as {
      instances: { displayName: string; state: string }[];
    };
    expect(json.instances).toEqual([expect.objectContaining({ displayName: 'AWS Minimal', state: 'queued' })]);
    const missing = await provflow(['status', 'nope'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No batch 'nope'.*Known batches: cli-min/);
  }, 60_000);

  it('a missing variable stops a command with a message naming it', async () => {
    const r = await provflow(['worker'], {
      REDIS_URL: '',
      AZURE_TENANT_ID: '',
      AZURE_CLIENT_ID: '',
      AZURE_CLIENT_SECRET: '',
      PROVFLOW_SECRET_KEY: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REDIS_URL is not set/);
    expect(r.stderr).toMatch(/AZURE_TENANT_ID is not set/);
    expect(r.stderr).toMatch(/PROVFLOW_SECRET_KEY is not set/);
  }, 30_000);
});
