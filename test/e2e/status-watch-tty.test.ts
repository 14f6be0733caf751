/**
 * `provflow status BATCH --watch` on a pseudo-terminal (util-linux `script`): the table redraws in
 * place (cursor moves, no clear-screen, no second copy scrolled below), fits COLUMNS, and exits
 * once every instance has ended.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.ts';
import { displayWidth } from '../../src/ui/table.ts';
import { HAS_SCRIPT, screenRows } from '../helpers/pty.ts';
import { testRedis, type RedisHandle } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let redis: RedisHandle;
let client: Redis;
beforeAll(async () => {
  redis = await testRedis({ own: true });
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
});

describe.skipIf(!HAS_SCRIPT)('status --watch on a terminal', () => {
  it('redraws in place until every instance has ended', async () => {
    const prefix = `{watch-${randomBytes(3).toString('hex')}}`;
    const ledger = new Ledger(client, prefix);
    const n = 60;
    const instances = Array.from({ length: n }, (_, i) => ({
      instanceKey: `k${i}`,
      index: i,
      displayName: `AWS Watch ${i}`,
      sealedCredentials: null,
    }));
    await ledger.registerBatch(
      { batchId: 'watch-1', createdAt: Date.now(), instances: n, sourceFile: '(test)' },
      instances,
    );

    const bin = JSON.stringify(path.join(ROOT, 'bin/provflow.js'));
    const cmd = `${JSON.stringify(process.execPath)} ${bin} status watch-1 --watch`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, COLUMNS: '100', REDIS_URL: redis.url, BULLMQ_PREFIX: prefix },
    });
    let raw = '';
    child.stdout.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    try {
      await waitFor('first frame', async () => (raw.includes('queued') ? true : null), 60_000);
      for (let i = 0; i < n; i++)
        await ledger.update(
          'watch-1',
          `k${i}`,
          i === 7 ? { state: 'failed', lastError: 'credentials rejected' } : { state: 'steady' },
        );
      const code = await exited;
      expect(code, raw.slice(-2000)).toBe(1); // a failed instance: exit 1
    } finally {
      child.kill();
    }
    expect(raw).not.toContain('\x1b[2J'); // no clear-screen
    expect(raw).toMatch(/\x1b\[\d+A/);
    const rows = screenRows(raw);
    expect(rows.filter((l) => displayWidth(l) > 100)).toEqual([]);
    // The last frame: counts by state and the one instance needing attention.
    const tail = rows.slice(rows.findLastIndex((l) => /^state\s+instances/.test(l)));
    expect(tail.some((l) => /^steady\s+59/.test(l))).toBe(true);
    expect(tail.some((l) => l.startsWith('AWS Watch 7 ') && l.includes('credentials rejected'))).toBe(true);
    expect(tail.some((l) => l.startsWith('AWS Watch 8 '))).toBe(false);
  }, 120_000);
});
