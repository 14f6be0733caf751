/**
 * The CLI as a pipeline stage: output larger than a pipe's 64 KiB buffer arrives whole, and a
 * one-shot command facing an unreachable Redis gives up with exit 1 instead of hanging.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.ts';
import { freePort } from '../../src/dev/redis-server.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GOOD = path.join(ROOT, 'test/fixtures/good-batches');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs provflow with both outputs on pipes that nobody reads until the child exits (or
 * `holdMs` passed): a child that exits without flushing loses everything beyond the pipe buffer.
 */
function provflowPiped(
  args: string[],
  env: Record<string, string>,
  opts: { holdMs?: number; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/provflow.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.pause();
    child.stderr.pause();
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const release = () => {
      child.stdout.resume();
      child.stderr.resume();
    };
    const hold = setTimeout(release, opts.holdMs ?? 6000);
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('exit', release);
    child.once('close', (code) => {
      clearTimeout(hold);
      clearTimeout(kill);
      const text = (b: Buffer[]) => Buffer.concat(b).toString('utf8');
      resolve({ code, stdout: text(out), stderr: text(err), ms: Date.now() - t0 });
    });
  });
}

let redis: RedisHandle;
let dir: string;
beforeAll(async () => {
  redis = await testRedis();
  dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-cli-output-'));
});
afterAll(async () => {
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('output through pipes', () => {
  it('status --json of a 1,500-instance batch (about 1 MB) arrives whole and parses', async () => {
    const prefix = testPrefix('pipe');
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      const n = 1500;
      await new Ledger(client, prefix).registerBatch(
        { batchId: 'piped', createdAt: Date.now(), instances: n, sourceFile: '(test)' },
        Array.from({ length: n }, (_, i) => ({
          instanceKey: `piped-${String(i).padStart(5, '0')}-0123456789`,
          index: i,
          displayName: `Piped Output Instance With A Long Name ${String(i).padStart(5, '0')}`,
          sealedCredentials: null,
        })),
      );
    } finally {
      client.disconnect();
    }
    const r = await provflowPiped(['status', 'piped', '--json'], { REDIS_URL: redis.url, BULLMQ_PREFIX: prefix });
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(4 * 65536);
    const doc = JSON.parse(r.stdout) as { instances: { displayName: string }[] };
    expect(doc.instances).toHaveLength(1500);
    expect(doc.instances.at(-1)!.displayName).toMatch(/01499$/);
  }, 90_000);

  it('status piped into a reader that stops early (| head): exit 0, no EPIPE trace', async () => {
    const prefix = testPrefix('head');
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      await new Ledger(client, prefix).registerBatch(
        { batchId: 'headed', createdAt: Date.now(), instances: 3000, sourceFile: '(test)' },
        Array.from({ length: 3000 }, (_, i) => ({
          instanceKey: `headed-${i}-0123456789`,
          index: i,
          displayName: `Headed ${i}`,
          sealedCredentials: null,
        })),
      );
    } finally {
      client.disconnect();
    }
    for (const args of [
      ['status', 'headed'],
      ['status', 'headed', '--json'],
    ]) {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/provflow.js'), ...args], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: redis.url, BULLMQ_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      // Like `head -c 100`: read the first chunk, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(stderr).not.toMatch(/EPIPE|Unhandled/);
      expect(code, stderr).toBe(0);
    }
  }, 90_000);

  it('a problems report of 2,000 problems on stderr arrives whole (500 rows, then the count of the rest), exit 2', async () => {
    const file = path.join(dir, 'many-problems.json');
    // An unknown field per instance: long messages, so the capped report is still well over 64 KiB.
    const instances = Array.from({ length: 2000 }, (_, i) => ({
      displayName: `No Template ${i + 10_000}`,
      colour: 'x',
    }));
    const defaults = { applicationTemplate: 'AWS Single-Account Access', credentials: { SyncAll: { value: 'false' } } };
    writeFileSync(file, JSON.stringify({ defaults, instances }));
    const env = { REDIS_URL: redis.url, BULLMQ_PREFIX: testPrefix('pipe'), COLUMNS: '1000' };
    const r = await provflowPiped(['enqueue', file], env);
    expect(r.code).toBe(2);
    expect(Buffer.byteLength(r.stderr)).toBeGreaterThan(65536);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/2000 problems; nothing was enqueued/);
    const rows = lines.filter((l) => /^instances\[\d+\]/.test(l));
    expect(rows).toHaveLength(500);
    expect(lines.at(-1)).toMatch(/^\(more\)\s+and 1500 more problems/);
    expect(r.stderr.endsWith('\n')).toBe(true);
  }, 90_000);
});

describe('unreachable Redis', () => {
  it('enqueue and status give up after REDIS_CONNECT_TIMEOUT_MS, exit 1, naming REDIS_URL (masked)', async () => {
    const port = await freePort(); // nothing listens there
    const url = `redis://:pw-canary-${randomBytes(4).toString('hex')}@127.0.0.1:${port}`;
    const env = {
      REDIS_URL: url,
      REDIS_CONNECT_TIMEOUT_MS: '1500',
      BULLMQ_PREFIX: testPrefix('down'),
      PROVFLOW_EXAMPLE_AWS_SECRET_TOKEN: 'tok-not-real',
      PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
    };
    const [enq, status] = await Promise.all([
      provflowPiped(['enqueue', path.join(GOOD, 'minimal.json')], env, { holdMs: 0, timeoutMs: 30_000 }),
      provflowPiped(['status', 'anything'], env, { holdMs: 0, timeoutMs: 30_000 }),
    ]);
    for (const r of [enq, status]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/cannot reach Redis at REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ within 1500 ms/);
      expect(r.stderr).toMatch(/ECONNREFUSED/);
      expect(r.stderr).not.toMatch(/pw-canary/);
      // One message, not a warning per reconnect attempt.
      expect(r.stderr).not.toMatch(/redis connection error/);
      expect(r.stdout).toBe('');
    }
  }, 60_000);

  it('a long-running worker keeps retrying past the one-shot timeout, logging to stdout', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/provflow.js'), 'worker'], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_CONNECT_TIMEOUT_MS: '200',
        AZURE_TENANT_ID: 'tenant',
        AZURE_CLIENT_ID: 'client',
        AZURE_CLIENT_SECRET: 'not-a-secret',
        PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    // Start-up under load takes a few seconds; wait for its first reconnect warning, then longer.
    const t0 = Date.now();
    while (!/redis connection error/.test(output) && Date.now() - t0 < 30_000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode, output + stderr).toBeNull();
    // Long-running processes log JSON lines to stdout (README, configuration table).
    expect(JSON.parse(output.split('\n')[0]!)).toMatchObject({ name: 'worker', msg: 'redis connection error' });
    expect(stderr).toBe('');
    child.kill('SIGKILL');
    await exited;
  }, 60_000);
});
