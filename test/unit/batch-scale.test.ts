/** Large batches: 10,000 instances load quickly; one more is refused before per-instance work. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatchFile } from '../../src/batch/load-batch.ts';

function write(count: number, dir: string, name: string): string {
  writeFileSync(join(dir, 'token.txt'), 'shared-token\n');
  const instances = Array.from({ length: count }, (_, i) => ({
    displayName: `AWS Account ${String(i).padStart(5, '0')} — Zürich`,
    ...(i % 10 === 0 ? { credentials: { ClientSecret: { value: `key-${i}` } } } : {}),
  }));
  const doc = {
    batchId: 'big-batch',
    defaults: {
      applicationTemplate: 'Amazon Web Services (AWS)',
      synchronizationTemplateId: 'aws',
      credentials: { SecretToken: { file: './token.txt' }, ClientSecret: { env: 'PROVFLOW_TEST_BIG_CLIENT_SECRET' } },
    },
    instances,
  };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('batch size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'provflow-big-'));
  const env = { PROVFLOW_TEST_BIG_CLIENT_SECRET: 'shared-client-secret' };

  it('loads a 10,000-instance file', async () => {
    const file = write(10_000, dir, 'big.json');
    const started = performance.now();
    const result = await loadBatchFile(file, { env });
    const ms = performance.now() - started;
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.batch.instances).toHaveLength(10_000);
    expect(new Set(result.batch.instances.map((i) => i.instanceKey)).size).toBe(10_000);
    expect(result.batch.instances[10]!.credentials).toEqual([
      { key: 'SecretToken', value: 'shared-token' },
      { key: 'ClientSecret', value: 'key-10' },
    ]);
    // Not a performance figure (bench/scale-enqueue.ts prints those): a guard against a quadratic
    // validator, which takes minutes at this size, with room for a loaded 2-core host.
    expect(ms).toBeLessThan(20_000);
  });

  it('refuses 10,001 instances at the default limit', async () => {
    const file = write(10_001, dir, 'too-big.json');
    const result = await loadBatchFile(file, { env });
    expect(result.ok ? [] : result.problems).toEqual([
      { path: 'instances', message: expect.stringContaining('has 10001 instances') },
    ]);
  });

  it('loads a 10,000-row CSV', async () => {
    const rows = Array.from(
      { length: 10_000 },
      (_, i) => `"AWS, Account ${i}",Amazon Web Services (AWS),aws,env:PROVFLOW_TEST_BIG_CLIENT_SECRET`,
    );
    const file = join(dir, 'big.csv');
    writeFileSync(
      file,
      ['displayName,applicationTemplate,synchronizationTemplateId,ClientSecret', ...rows].join('\r\n'),
    );
    const started = performance.now();
    const result = await loadBatchFile(file, { env });
    expect(result.ok && result.batch.instances.length).toBe(10_000);
    expect(performance.now() - started).toBeLessThan(20_000); // quadratic guard, as above
  });
});
