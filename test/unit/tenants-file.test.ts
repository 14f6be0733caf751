/** The tenants file: every problem named with its place and fix, no secret echoed; batch `tenant` names checked. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatchFile } from '../../src/batch/load-batch.ts';
import { loadTenantsFile } from '../../src/tenants/load-tenants.ts';
import { limitsFor } from '../../src/tenants/tenant-registry.ts';
import { loadConfig } from '../../src/config.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-tenants-test-'));
const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const C1 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const good = (over: Record<string, unknown> = {}) => ({
  name: 'contoso',
  tenantId: T1,
  clientId: C1,
  clientSecret: { env: 'CONTOSO_SECRET' },
  size: 'M',
  ...over,
});

describe('tenants file', () => {
  it('loads tenants with their secrets resolved from env and file', async () => {
    writeFileSync(path.join(dir, 'fabrikam.txt'), 'fabrikam-secret\n');
    const p = file('ok.json', [
      good(),
      good({ name: 'fabrikam', tenantId: T2, clientSecret: { file: './fabrikam.txt' } }),
    ]);
    const res = await loadTenantsFile(p, { CONTOSO_SECRET: 'contoso-secret' });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.tenants.map((t) => [t.name, t.clientSecret, t.size])).toEqual([
      ['contoso', 'contoso-secret', 'M'],
      ['fabrikam', 'fabrikam-secret', 'M'],
    ]);
  });

  it('names every problem with its place, suggests misspelt fields, and never echoes a secret', async () => {
    const p = file('bad.json', [
      good(),
      good({ name: 'Bad Name', tenantId: 'not-a-guid', clientSecret: { value: 'PLANTED-secret-value-123' } }),
      good({ name: 'contoso', tenantId: T2 }),
      good({ name: 'nosecret', tenantId: T2.replace('2222', '3333'), clientSecret: undefined }),
      good({ name: 'missingenv', tenantId: T2.replace('2222', '4444'), clientSecret: { env: 'NOT_SET_ANYWHERE' } }),
      good({ name: 'bigsize', tenantId: T2.replace('2222', '5555'), size: 'XL' }),
      good({ name: 'typo', tenantId: T2.replace('2222', '6666'), sise: 'M', size: undefined }),
    ]);
    const res = await loadTenantsFile(p, { CONTOSO_SECRET: 'x' });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    const text = res.problems.map((x) => `${x.path}: ${x.message}`).join('\n');
    expect(text).toMatch(/\[6\]\.sise: unknown field 'sise'\. Did you mean 'size'\?/);
    expect(text).toMatch(/\[6\]\.size: is required/);
    expect(text).toMatch(/\[1\]\.name: must be 1–32 lower-case/);
    expect(text).toMatch(/\[1\]\.tenantId: must be the directory \(tenant\) id/);
    expect(text).toMatch(/\[1\]\.clientSecret\.value: is not allowed here/);
    expect(text).toMatch(/\[2\]\.name: duplicates the name of tenant \[0\]/);
    expect(text).toMatch(/\[3\]\.clientSecret: is missing/);
    expect(text).toMatch(/\[4\]\.clientSecret\.env: environment variable NOT_SET_ANYWHERE is not set/);
    expect(text).toMatch(/\[5\]\.size: must be "S", "M" or "L"/);
    expect(text).not.toContain('PLANTED');
  });

  it('refuses a file that is not an array, invalid JSON and a missing file', async () => {
    const notArray = await loadTenantsFile(file('obj.json', { tenants: [] }), {});
    expect(!notArray.ok && notArray.problems[0]!.message).toMatch(/is a JSON array/);
    const syntax = await loadTenantsFile(file('syntax.json', '[{"name": }]'), {});
    expect(!syntax.ok && syntax.problems[0]!.path).toMatch(/^line 1, column/);
    const missing = await loadTenantsFile(path.join(dir, 'nope.json'), {});
    expect(!missing.ok && missing.problems[0]!.message).toMatch(/does not exist; check PROVFLOW_TENANTS/);
  });

  it('size sets the resource-unit quota in Microsoft ratios from GRAPH_RU_LIMIT (the S tier)', () => {
    const cfg = loadConfig({});
    expect(limitsFor(cfg, 'S').ruLimit).toBe(3500);
    expect(limitsFor(cfg, 'M').ruLimit).toBe(5000);
    expect(limitsFor(cfg, 'L').ruLimit).toBe(8000);
    expect(limitsFor(loadConfig({ GRAPH_RU_LIMIT: '700' }), 'L').ruLimit).toBe(1600);
    expect(limitsFor(cfg, null).ruLimit).toBe(3500);
  });

  it('without a tenants file, AZURE_* are required; with one, they are not', () => {
    expect(() => loadConfig({}, ['graph'])).toThrow(/AZURE_TENANT_ID is not set/);
    expect(() => loadConfig({ PROVFLOW_TENANTS: 'tenants.json' }, ['graph'])).not.toThrow();
  });
});

describe('batch files name a tenant', () => {
  const batch = (doc: unknown) => file(`batch-${Math.random().toString(36).slice(2)}.json`, doc);
  const inst = (displayName: string, extra: Record<string, unknown> = {}) => ({
    displayName,
    credentials: { SecretToken: { value: 'x' } },
    ...extra,
  });

  it('takes the tenant from the instance, else from defaults, else default', async () => {
    const p = batch({
      defaults: { applicationTemplate: 'AWS', tenant: 'contoso' },
      instances: [inst('A'), inst('B', { tenant: 'fabrikam' })],
    });
    const res = await loadBatchFile(p, { tenants: ['contoso', 'fabrikam'] });
    expect(res.ok && res.batch.instances.map((i) => i.tenant)).toEqual(['contoso', 'fabrikam']);
    const single = await loadBatchFile(batch({ defaults: { applicationTemplate: 'AWS' }, instances: [inst('A')] }));
    expect(single.ok && single.batch.instances[0]!.tenant).toBeUndefined(); // default, as before tenants
  });

  it('an unknown tenant is named, with a suggestion, and nothing loads', async () => {
    const p = batch({
      defaults: { applicationTemplate: 'AWS', tenant: 'contsoo' },
      instances: [inst('A'), inst('B', { tenant: 'nowhere' })],
    });
    const res = await loadBatchFile(p, { tenants: ['contoso', 'fabrikam'] });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    const text = res.problems.map((x) => `${x.path}: ${x.message}`).join('\n');
    expect(text).toMatch(/defaults\.tenant: names 'contsoo', which is not a known tenant: Did you mean 'contoso'\?/);
    expect(text).toMatch(/instances\[1\]\.tenant: names 'nowhere'.*lists contoso, fabrikam/);
    const noFile = await loadBatchFile(
      batch({ defaults: { applicationTemplate: 'AWS', tenant: 'contoso' }, instances: [inst('A')] }),
    );
    expect(!noFile.ok && noFile.problems[0]!.message).toMatch(/no tenants file is configured/);
  });
});

describe('job payloads across deploys', () => {
  it('a step job written before tenants existed still parses, and belongs to the default tenant', async () => {
    const { stepJobDataSchema } = await import('../../src/flow/job-data.ts');
    const { tenantOf } = await import('../../src/steps/instance.ts');
    const old = {
      v: 1,
      instance: {
        batchId: 'b',
        instanceKey: 'aws-a-0123456789',
        displayName: 'AWS A',
        applicationTemplate: { displayName: 'AWS Single-Account Access' },
        synchronizationTemplateId: 'aws',
      },
    };
    const parsed = stepJobDataSchema.parse(old);
    expect(tenantOf(parsed.instance)).toBe('default');
    const now = stepJobDataSchema.parse({ ...old, instance: { ...old.instance, tenant: 'contoso' } });
    expect(tenantOf(now.instance)).toBe('contoso');
    expect(stepJobDataSchema.safeParse({ ...old, instance: { ...old.instance, tenant: 'Bad Name' } }).success).toBe(
      false,
    );
  });
});
