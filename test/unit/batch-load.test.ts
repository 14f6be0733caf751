/**
 * Loading good batch files: defaults and overrides, credential references, quotes and
 * non-ASCII names, and JSON/CSV equivalence.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatchFile, type Batch, type LoadResult } from '../../src/batch/load-batch.ts';
import { instanceKeyOf } from '../../src/batch/instance-key.ts';
import { redactInstance } from '../../src/secrets/mask.ts';

const dir = join(import.meta.dirname, '../fixtures/good-batches');
/** The variables example.env defines (the good batches' `{env}` references). */
const env = Object.fromEntries(
  readFileSync(join(dir, 'example.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const TOKEN = env.PROVFLOW_EXAMPLE_AWS_SECRET_TOKEN!;
const NOTIFY = '{"Enabled":false,"DeleteThresholdEnabled":false}';

function batchOf(result: LoadResult): Batch {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.problems, null, 2)}`);
  return result.batch;
}

function tempFile(name: string, text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'provflow-batch-'));
  writeFileSync(join(d, name), text);
  return join(d, name);
}

describe('good batches', () => {
  const goodFiles = readdirSync(dir).filter((f) => /\.(json|csv)$/.test(f));

  it.each(goodFiles)('%s loads', async (file) => {
    const batch = batchOf(await loadBatchFile(join(dir, file), { env }));
    expect(batch.instances.length).toBeGreaterThan(0);
    expect(batch.sourceFile).toBe(join(dir, file));
  });

  it('applies defaults, overrides and credential references (aws-rollout.json)', async () => {
    const batch = batchOf(await loadBatchFile(join(dir, 'aws-rollout.json'), { env }));
    expect(batch.batchId).toBe('aws-rollout-2026-11');
    expect(batch.instances.map((i) => i.displayName)).toEqual([
      'AWS Contoso Prod',
      "O'Brien's AWS",
      'Zürich Süd',
      '東京 AWS',
      'AWS "Quoted" Sandbox',
      'AWS by template id',
    ]);
    const [contoso, , , tokyo, quoted, byId] = batch.instances;
    expect(contoso).toEqual({
      index: 0,
      instanceKey: instanceKeyOf('AWS Contoso Prod'),
      displayName: 'AWS Contoso Prod',
      applicationTemplate: { displayName: 'Amazon Web Services (AWS)' },
      synchronizationTemplateId: 'aws',
      credentials: [
        { key: 'SecretToken', value: TOKEN },
        // the file's trailing newline is not part of the value
        { key: 'ClientSecret', value: 'example-aws-access-key-id-not-real' },
        { key: 'SyncNotificationSettings', value: NOTIFY },
      ],
      credentialSources: [
        { key: 'SecretToken', source: 'env' },
        { key: 'ClientSecret', source: 'file' },
        { key: 'SyncNotificationSettings', source: 'value' },
      ],
      expect: null,
    });
    // An instance credential replaces the default key by key (CRLF file ending trimmed).
    expect(tokyo!.credentials).toContainEqual({ key: 'SecretToken', value: 'tokyo-example-secret-token-not-real' });
    expect(tokyo!.credentialSources).toContainEqual({ key: 'SecretToken', source: 'file' });
    // null drops an inherited credential and the default sync template.
    expect(quoted!.synchronizationTemplateId).toBeNull();
    expect(quoted!.credentials.map((c) => c.key)).toEqual(['SecretToken', 'ClientSecret']);
    // A GUID is a template id.
    expect(byId!.applicationTemplate).toEqual({ id: '8b1025e4-1dd2-430b-a150-2ef79cd700f5' });
    expect(byId!.credentials).toContainEqual({ key: 'ClientSecret', value: 'example-literal-client-secret-not-real' });
  });

  it('gives the same instances from the JSON and the CSV form', async () => {
    const json = batchOf(await loadBatchFile(join(dir, 'aws-rollout.json'), { env }));
    const csv = batchOf(await loadBatchFile(join(dir, 'aws-rollout.csv'), { env }));
    expect(csv.batchId).toBe('aws-rollout'); // from the file name
    expect(csv.instances).toEqual(json.instances);
  });

  it('reads Excel-style CSV: BOM, CRLF, quoted commas, value: prefix', async () => {
    const batch = batchOf(await loadBatchFile(join(dir, 'scim-excel.csv'), { env }));
    expect(batch.instances.map((i) => [i.displayName, i.credentials])).toEqual([
      [
        'SCIM, with comma',
        [
          { key: 'BaseAddress', value: 'https://scim.example.com/v2' },
          { key: 'SyncAll', value: 'true' },
        ],
      ],
      [
        'SCIM plain',
        [
          { key: 'BaseAddress', value: 'https://scim2.example.com/v2' },
          { key: 'SyncAll', value: 'false' },
        ],
      ],
    ]);
  });

  it('redactInstance masks secret values and keeps settings', async () => {
    const batch = batchOf(await loadBatchFile(join(dir, 'aws-rollout.json'), { env }));
    const shown = JSON.stringify(redactInstance(batch.instances[0]!));
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('example-aws-access-key-id-not-real');
    expect(shown).toContain('DeleteThresholdEnabled');
  });
});

describe('batch ids', () => {
  const creds = { SecretToken: { value: 'not-a-real-token' } };
  const body = JSON.stringify({ instances: [{ displayName: 'A', applicationTemplate: 'T', credentials: creds }] });

  it('defaults to a sanitised file name', async () => {
    expect(batchOf(await loadBatchFile(tempFile('AWS rollout (Nov).json', body))).batchId).toBe('AWS-rollout-Nov');
    expect(batchOf(await loadBatchFile(tempFile('2026.json', body))).batchId).toBe('batch-2026');
  });

  it('takes the override over the file, and validates it', async () => {
    const file = tempFile(
      'x.json',
      JSON.stringify({
        batchId: 'from-file',
        instances: [{ displayName: 'A', applicationTemplate: 'T', credentials: creds }],
      }),
    );
    expect(batchOf(await loadBatchFile(file)).batchId).toBe('from-file');
    expect(batchOf(await loadBatchFile(file, { batchIdOverride: 'cli-id' })).batchId).toBe('cli-id');
    const bad = await loadBatchFile(file, { batchIdOverride: 'a:b' });
    expect(bad.ok ? [] : bad.problems).toEqual([{ path: 'batchId', message: expect.stringContaining('command line') }]);
  });
});

describe('problem collection', () => {
  it('reports every problem in the file, in document order, without echoing values', async () => {
    const file = tempFile(
      'many.json',
      JSON.stringify({
        batchId: 'ok-id',
        defaults: {
          applicationTemplate: 'T',
          credentials: { ClientSecrt: { value: 'hunter2-literal' }, SecretToken: { env: 'PROVFLOW_TEST_UNSET_X' } },
        },
        instances: [
          { displayName: 'A', credentials: { BaseAddress: { file: 'nope.txt' } } },
          { displayName: 'a', expect: 'nope' },
          { displayName: 'B\u0000' },
          { displayName: 'C', synchronizationTemplateId: 'x.y' },
        ],
      }),
    );
    const result = await loadBatchFile(file, { env: {} });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path)).toEqual([
      'defaults.credentials.ClientSecrt',
      'defaults.credentials.SecretToken.env',
      'instances[0].credentials.BaseAddress.file',
      'instances[1].expect',
      'instances[1].displayName',
      'instances[2].displayName',
      'instances[3].synchronizationTemplateId',
    ]);
    expect(JSON.stringify(result.problems)).not.toContain('hunter2-literal');
  });

  it('reports a missing batch file', async () => {
    const result = await loadBatchFile('/definitely/not/here.json');
    expect(result.ok ? [] : result.problems).toEqual([
      { path: '(file)', message: expect.stringContaining('does not exist') },
    ]);
  });

  it('respects a small maxInstances', async () => {
    const file = tempFile(
      'three.json',
      JSON.stringify({
        defaults: { applicationTemplate: 'T', credentials: { SecretToken: { value: 'not-a-real-token' } } },
        instances: [{ displayName: 'a' }, { displayName: 'b' }, { displayName: 'c' }],
      }),
    );
    expect((await loadBatchFile(file, { maxInstances: 3 })).ok).toBe(true);
    const over = await loadBatchFile(file, { maxInstances: 2 });
    expect(over.ok ? [] : over.problems).toEqual([
      { path: 'instances', message: expect.stringContaining('the limit is 2') },
    ]);
  });
});
