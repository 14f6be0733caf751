/**
 * The bad-input corpus: every file under test/fixtures/bad-batches is rejected with a problem
 * whose path names what expected.json says, and no message repeats a credential value.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatchFile } from '../../src/batch/load-batch.ts';

const dir = join(import.meta.dirname, '../fixtures/bad-batches');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, string>;
const files = readdirSync(dir)
  .filter((f) => /\.(json|csv)$/.test(f) && f !== 'expected.json')
  .sort();

/** Literal credential values written in a JSON fixture (long enough to be recognisable). */
function literalValues(file: string): string[] {
  if (!file.endsWith('.json')) return [];
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'value' && typeof x === 'string' && x.length >= 6) found.push(x);
        walk(x);
      }
    }
  };
  try {
    walk(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  } catch {
    // syntax-error fixtures have nothing to collect
  }
  return found;
}

describe('bad-batches corpus', () => {
  it('has at least 28 files, each listed in expected.json and vice versa', () => {
    expect(files.length).toBeGreaterThanOrEqual(28);
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  it.each(files)('%s is rejected with a problem at the expected path', async (file) => {
    const result = await loadBatchFile(join(dir, file), { env: {} });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path);
    expect(
      paths.some((p) => p.includes(expected[file]!)),
      `paths: ${JSON.stringify(paths)}`,
    ).toBe(true);
    for (const problem of result.problems) {
      expect(problem.message.length).toBeGreaterThan(20);
      for (const secret of literalValues(file)) expect(problem.message).not.toContain(secret);
    }
  });

  it('over-max-batch.json is rejected at the default limit with a message naming the limit', async () => {
    const result = await loadBatchFile(join(dir, 'over-max-batch.json'), { env: {} });
    expect(result).toEqual({
      ok: false,
      problems: [{ path: 'instances', message: expect.stringContaining('the limit is 10000') }],
    });
  });

  it('JSON syntax errors give line and column without echoing the file', async () => {
    const result = await loadBatchFile(join(dir, 'invalid-json.json'), { env: {} });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.path).toBe('line 4, column 40');
    expect(result.problems[0]!.message).toMatch(/comma is probably missing/);
    expect(result.problems[0]!.message).not.toContain('Contoso');
  });

  it('unknown secret keys suggest the closest known key', async () => {
    const result = await loadBatchFile(join(dir, 'unknown-secret-key.json'), { env: {} });
    expect(result.ok ? [] : result.problems).toEqual([
      {
        path: 'instances[0].credentials.ClientSecrt',
        message: expect.stringContaining("Did you mean 'ClientSecret'?"),
      },
    ]);
    const lower = await loadBatchFile(join(dir, 'unknown-secret-key-case.json'), { env: {} });
    expect(lower.ok ? '' : lower.problems[0]!.message).toContain("Did you mean 'SecretToken'?");
  });

  it('duplicate names list both paths', async () => {
    const result = await loadBatchFile(join(dir, 'duplicate-names-case.json'), { env: {} });
    expect(result.ok ? [] : result.problems).toEqual([
      { path: 'instances[1].displayName', message: expect.stringContaining('instances[0].displayName') },
    ]);
    const csv = await loadBatchFile(join(dir, 'csv-duplicate-names.csv'), { env: {} });
    expect(csv.ok ? [] : csv.problems).toEqual([
      { path: 'line 3, column displayName', message: expect.stringContaining('line 2, column displayName') },
    ]);
  });

  it('missing env and file references name the variable and the file', async () => {
    const env = await loadBatchFile(join(dir, 'missing-env.json'), { env: {} });
    expect(env.ok ? '' : env.problems[0]!.message).toContain('PROVFLOW_TEST_DEFINITELY_UNSET_1');
    const file = await loadBatchFile(join(dir, 'missing-file.json'), { env: {} });
    expect(file.ok ? '' : file.problems[0]!.message).toContain('definitely-missing-secret.txt');
  });

  it('a reference in defaults is reported once, not once per instance', async () => {
    const result = await loadBatchFile(join(dir, 'missing-env-in-defaults.json'), { env: {} });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(['defaults.credentials.SecretToken.env']);
  });
});
