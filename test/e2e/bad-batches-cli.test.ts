/**
 * Every file of the bad-input corpus through the real CLI: `provflow enqueue FILE` exits 2,
 * names the path of the problem on stderr, and leaves Redis untouched (not one key written).
 * Then a good batch file through the same CLI and Redis: exit 0, the batch id on stdout.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIR = path.join(ROOT, 'test/fixtures/bad-batches');
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, string>;

let redis: RedisHandle;
let client: Redis;
beforeAll(async () => {
  redis = await testRedis({ own: true }); // a fresh server: DBSIZE must stay 0
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
});

const GOOD = path.join(ROOT, 'test/fixtures/good-batches');
/** Canaries of the corpus files where a credential sits in a header, an `{env}` name or a `{file}` path. */
const PASTED_SECRETS = [
  'canary-csv-header-secret-7f3a9c',
  'AKIACANARYPASTED7Q2M',
  'wJalrCanary/K7MDENG+pastedSecretKey',
  'pastedSecretKey',
  'cAnArYpAsTeD9x7Q2mZk',
];

function enqueue(
  file: string,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/provflow.js'), 'enqueue', path.isAbsolute(file) ? file : path.join(DIR, file)],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          COLUMNS: '1000',
          REDIS_URL: redis.url,
          BULLMQ_PREFIX: '{bad}',
          PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
          ...extraEnv,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('bad batch files through the CLI', () => {
  it(`all ${Object.keys(expected).length} files: exit 2, the path named, nothing written to Redis`, async () => {
    const files = Object.keys(expected);
    expect(files.length).toBeGreaterThanOrEqual(25);
    expect(await client.dbsize()).toBe(0);
    const failures: string[] = [];
    for (let i = 0; i < files.length; i += 4) {
      const chunk = files.slice(i, i + 4);
      const results = await Promise.all(chunk.map((f) => enqueue(f)));
      chunk.forEach((f, j) => {
        const r = results[j]!;
        if (r.code !== 2) failures.push(`${f}: exit ${r.code} ${r.stderr.slice(0, 200)}`);
        else if (!r.stderr.includes(expected[f]!))
          failures.push(`${f}: stderr does not name ${expected[f]}: ${r.stderr.slice(0, 300)}`);
        else if (!/nothing was enqueued/.test(r.stderr)) failures.push(`${f}: does not say nothing was enqueued`);
        if (r.stdout.trim()) failures.push(`${f}: printed a batch id: ${r.stdout.trim()}`);
        const output = r.stdout + r.stderr;
        // Item 14: no raw ESC / 8-bit CSI from the file reaches the terminal.
        if (/[\u001b\u009b]/.test(output)) failures.push(`${f}: raw terminal control in the output`);
        // Item 13: values pasted where a name, a path or a header goes are never printed back.
        for (const secret of PASTED_SECRETS) {
          if (output.includes(secret)) failures.push(`${f}: printed the secret ${secret.slice(0, 4)}…`);
        }
      });
    }
    expect(failures).toEqual([]);
    expect(await client.dbsize()).toBe(0);
    // ~85 CLI starts (tsx) four at a time: ~2 min on an idle 2-core host, far more under load.
  }, 480_000);

  it('the item 13 and 14 files: the problem is shown, the canary and the raw controls are not', async () => {
    const header = await enqueue('csv-missing-header.csv');
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('header row missing?');
    const escape = await enqueue('unknown-field-terminal-escape.json');
    expect(escape.code).toBe(2);
    expect(escape.stderr).toContain("unknown field '\\x1B]0;pwned\\x07\\x1B[2J");
    for (const r of [header, escape]) expect(r.stderr).not.toMatch(/[\u001b\u009b]|canary-csv-header/);
  }, 60_000);

  it('a good batch file through the same CLI and Redis: exit 0, the batch id on stdout, no credential in clear', async () => {
    const r = await enqueue(path.join(GOOD, 'aws-rollout.json'), {
      BULLMQ_PREFIX: '{good}',
      PROVFLOW_EXAMPLE_AWS_SECRET_TOKEN: 'example-aws-secret-token-not-real',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('aws-rollout-2026-11');
    expect(r.stderr).toMatch(/6 added/);
    expect(await client.dbsize()).toBeGreaterThan(0);
    const dump: string[] = [];
    for (const key of await client.keys('*')) {
      const type = await client.type(key);
      if (type === 'hash') dump.push(...Object.values(await client.hgetall(key)));
      else if (type === 'string') dump.push((await client.get(key)) ?? '');
    }
    for (const secret of [
      'example-aws-secret-token-not-real',
      'example-literal-client-secret-not-real',
      'example-aws-access-key-id-not-real',
      'tokyo-example-secret-token-not-real',
    ]) {
      expect(
        dump.some((v) => v.includes(secret)),
        secret,
      ).toBe(false);
    }
  }, 60_000);
});

// Issue 11 items 4 and 8: exit 2 with problems, never a stack trace or a hang.
describe('hostile batch files through the CLI', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'provflow-hostile-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('deep nesting, 150,000 problems, a FIFO batch file and {file: /dev/zero}', async () => {
    const AWS = 'Amazon Web Services (AWS)';
    const deep = path.join(tmp, 'deep.json');
    const levels = 500_000;
    const nested = `${'['.repeat(levels)}${']'.repeat(levels)}`;
    writeFileSync(deep, `{"instances": [{"displayName": "A", "applicationTemplate": "${AWS}", "x": ${nested}}]}`);
    const many = path.join(tmp, 'many.json');
    const instances = Array.from({ length: 10_000 }, (_, i) => {
      const o: Record<string, string> = { displayName: `AWS ${i}`, applicationTemplate: AWS };
      for (let k = 0; k < 15; k++) o[`extraField${k}`] = 'x';
      return o;
    });
    writeFileSync(many, JSON.stringify({ defaults: { credentials: { SyncAll: { value: 'false' } } }, instances }));
    const fifo = path.join(tmp, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const zero = path.join(tmp, 'zero.json');
    const credentials = { SecretToken: { file: '/dev/zero' } };
    writeFileSync(zero, JSON.stringify({ instances: [{ displayName: 'A', applicationTemplate: AWS, credentials }] }));

    const cases: [string, RegExp][] = [
      [deep, /line 1, column \d+ +invalid JSON: nesting deeper than 64 levels/],
      [many, /150000 problems; nothing was enqueued/],
      [fifo, /is a named pipe \(FIFO\), not a regular file/],
      [zero, /\/dev\/zero is a character device/],
    ];
    const keysBefore = await client.dbsize(); // the good-batch test above wrote its batch
    const results = await Promise.all(cases.map(([file]) => enqueue(file)));
    results.forEach((r, i) => {
      const [file, want] = cases[i]!;
      expect(r.code, `${file}: ${r.stderr.slice(0, 500)}`).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).toMatch(/nothing was enqueued/);
      expect(r.stderr).not.toMatch(/RangeError|Maximum call stack|\n\s+at .+:\d+:\d+/);
      expect(r.stdout.trim()).toBe('');
    });
    expect(await client.dbsize()).toBe(keysBefore);
  }, 120_000);
});

describe('command-line usage errors', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'bin/provflow.js'), ...args],
        { cwd: ROOT, timeout: 60_000 },
        (err, _o, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });

  it('a missing argument, an unknown option or command exit 2 (bad input) naming it; --help exits 0', async () => {
    const [missing, option, command, help] = await Promise.all([
      run(['enqueue']),
      run(['status', 'b1', '--bogus']),
      run(['frobnicate']),
      run(['--help']),
    ]);
    expect([missing.code, option.code, command.code, help.code]).toEqual([2, 2, 2, 0]);
    expect(missing.stderr).toContain("missing required argument 'file'");
    expect(option.stderr).toContain("unknown option '--bogus'");
    expect(command.stderr).toContain("unknown command 'frobnicate'");
  });
});
