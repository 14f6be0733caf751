/**
 * `COLUMNS=100 provflow demo --instances 120` on a pseudo-terminal (util-linux `script`), as a
 * person runs it: progress redraws in place, no line is wider than 100 columns, no JSON log line
 * reaches the screen (warnings are shown as text above the progress, all lines kept in a file).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayWidth } from '../../src/ui/table.ts';
import { HAS_SCRIPT, screenRows } from '../helpers/pty.ts';
import { testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let redis: RedisHandle;
beforeAll(async () => {
  redis = await testRedis({ own: true });
});
afterAll(async () => {
  await redis?.close();
});

describe.skipIf(!HAS_SCRIPT)('demo on a terminal', () => {
  it('COLUMNS=100 demo --instances 120: no line over 100 columns, no JSON log line, logs kept in a file', async () => {
    const bin = JSON.stringify(path.join(ROOT, 'bin/provflow.js'));
    const cmd = `${JSON.stringify(process.execPath)} ${bin} demo --instances 120`;
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'script',
        ['-qfec', cmd, '/dev/null'],
        {
          cwd: ROOT,
          env: { ...process.env, COLUMNS: '100', REDIS_URL: redis.url },
          timeout: 280_000,
          maxBuffer: 64 << 20,
        },
        (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    const rows = screenRows(r.stdout);
    expect(r.code, rows.slice(-30).join('\n')).toBe(0);
    const tooWide = rows.filter((l) => displayWidth(l) > 100);
    expect(tooWide).toEqual([]);
    expect(rows.filter((l) => l.includes('{"level"'))).toEqual([]);
    // The live area was redrawn in place (cursor moved up), with the rate-based ETA.
    expect(r.stdout).toMatch(/\x1b\[\d+A/);
    expect(rows.some((l) => /ETA \d/.test(l))).toBe(true);
    // Counts by state and only the instances needing attention (120 > 50).
    expect(rows.some((l) => /^steady\s+\d+/.test(l))).toBe(true);
    expect(rows.some((l) => /of 120 instances need attention/.test(l))).toBe(true);
    const logLine = rows.find((l) => l.startsWith('log: '));
    expect(logLine).toBeDefined();
    const file = /in (\S+\.log)$/.exec(logLine!)?.[1];
    expect(file && existsSync(file)).toBeTruthy();
    try {
      for (const line of readFileSync(file!, 'utf8').trim().split('\n').filter(Boolean))
        expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      rmSync(file!, { force: true });
    }
  }, 300_000);
});
