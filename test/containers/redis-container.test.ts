/**
 * The testcontainers Redis of src/dev/redis-server.ts, for real: obtainRedis's last resort (no
 * REDIS_URL, no redis-server on PATH, an engine answering) and the container handle the test
 * suite uses under PROVFLOW_TEST_REDIS=container, on the local image (Debian's Redis 8).
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisContainer } from '../../src/dev/redis-server.ts';
import { BASE_IMAGE, engineOrSkip, mustRun, run } from './engine.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const hasEngine = engineOrSkip([BASE_IMAGE]);
const LABEL = 'label=dev.provflow.role=redis';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'provflow-tc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const containersLeft = async () =>
  (await mustRun('docker', ['ps', '-aq', '--filter', LABEL])).split('\n').filter(Boolean);

describe.skipIf(!hasEngine)('Redis from testcontainers (local image)', () => {
  // Where no registry answers, the reaper's image cannot be pulled; close() removes the container.
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

  it('is what obtainRedis falls back to when no redis-server is on PATH and an engine answers', async () => {
    const before = await containersLeft();
    // A PATH with node and the docker CLI only: spawning redis-server fails with ENOENT.
    const bin = path.join(tmp, 'bin');
    await mustRun('mkdir', ['-p', bin]);
    for (const tool of ['node', 'docker']) {
      const where = (await mustRun('sh', ['-c', `command -v ${tool}`])).trim();
      symlinkSync(where, path.join(bin, tool));
    }
    // .mts: ESM (top-level await) outside the package; imports by absolute path for the same reason.
    const script = path.join(tmp, 'fallback.mts');
    writeFileSync(
      script,
      [
        `import { Redis } from ${JSON.stringify(path.join(ROOT, 'node_modules/ioredis/built/index.js'))};`,
        `import { obtainRedis } from ${JSON.stringify(path.join(ROOT, 'src/dev/redis-server.ts'))};`,
        `const h = await obtainRedis();`,
        `const r = new Redis(h.url);`,
        `await r.set('k', 'v');`,
        `const info = await r.info('server');`,
        `const policy = ((await r.config('GET', 'maxmemory-policy')) as string[])[1];`,
        `console.log(JSON.stringify({ url: h.url, spawned: h.child !== null, k: await r.get('k'), policy,`,
        `  version: /redis_version:(\\S+)/.exec(info)[1] }));`,
        `r.disconnect();`,
        `await h.close();`,
        `process.exit(0);`,
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, PROVFLOW_REDIS_IMAGE: BASE_IMAGE };
    delete env.REDIS_URL;
    delete env.PROVFLOW_TEST_REDIS;
    const r = await run('node', ['--import', 'tsx', script], { env, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(got).toMatchObject({ spawned: false, k: 'v', policy: 'noeviction' });
    expect(got.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(got.version).toMatch(/^8\./); // Debian trixie's
    expect(await containersLeft()).toEqual(before);
    console.log(`obtainRedis fallback: Redis ${got.version} in a container at ${got.url}`);
  });

  it('keeps its URL and (with AOF) its data across a hard stop and restart, and close() removes it', async () => {
    const before = await containersLeft();
    const h = await startRedisContainer({ image: BASE_IMAGE, appendonly: true, fsync: 'always' });
    const r = new Redis(h.url, { maxRetriesPerRequest: null });
    r.on('error', () => {});
    try {
      await r.set('survives', 'yes');
      await h.stop({ hard: true });
      await h.restart();
      expect(await r.get('survives')).toBe('yes');
      expect(((await r.config('GET', 'appendonly')) as string[])[1]).toBe('yes');
    } finally {
      r.disconnect();
      await h.close();
    }
    expect(await containersLeft()).toEqual(before);
  });
});
