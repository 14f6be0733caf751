/** The CLI with a tenants file: a broken file stops enqueue and worker with exit 2 before Redis is reached. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-tenants-cli-'));

function provflow(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/provflow.js'), ...args],
      // REDIS_URL points nowhere: these checks must not need Redis.
      { cwd: ROOT, env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', ...env }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const tenant = {
  name: 'contoso',
  tenantId: '11111111-1111-4111-8111-111111111111',
  clientId: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
  clientSecret: { env: 'PROVFLOW_TEST_CONTOSO_SECRET' },
  size: 'S',
};

describe('provflow with PROVFLOW_TENANTS', () => {
  it('a worker with a tenant whose secret is missing exits 2 naming the variable', async () => {
    const file = path.join(dir, 'tenants.json');
    writeFileSync(file, JSON.stringify([tenant]));
    const r = await provflow(['worker'], {
      PROVFLOW_TENANTS: file,
      PROVFLOW_SECRET_KEY: Buffer.alloc(32).toString('base64'),
    });
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/\[0\]\.clientSecret\.env: environment variable PROVFLOW_TEST_CONTOSO_SECRET is not set/);
  });

  it('enqueue refuses a batch naming an unknown tenant (exit 2, nothing enqueued)', async () => {
    const file = path.join(dir, 'tenants2.json');
    writeFileSync(file, JSON.stringify([tenant]));
    const batch = path.join(dir, 'batch.json');
    const inst = { displayName: 'A', credentials: { SecretToken: { value: 'x' } }, tenant: 'contosoo' };
    writeFileSync(batch, JSON.stringify({ defaults: { applicationTemplate: 'AWS' }, instances: [inst] }));
    const r = await provflow(['enqueue', batch], { PROVFLOW_TENANTS: file });
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/instances\[0\]\.tenant/);
    expect(r.out).toMatch(/Did you mean 'contoso'\?/);
    expect(r.out).toMatch(/nothing was enqueued/);
  });
});
