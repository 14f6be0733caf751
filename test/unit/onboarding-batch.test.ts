/** The onboarding fields in batch files: accepted, merged with defaults, and misspellings refused with a suggestion. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatchFile, type LoadResult } from '../../src/batch/load-batch.ts';
import { compareSettings, compileSettings } from '../../src/onboarding/settings.ts';
import { parseOnDemand } from '../../src/onboarding/smoke-test.ts';
import { plannedWrites } from '../../src/onboarding/writes.ts';

const USER = '33333333-3333-4333-8333-333333333333';

function json(doc: unknown): string {
  const d = mkdtempSync(join(tmpdir(), 'provflow-onboarding-'));
  writeFileSync(join(d, 'batch.json'), JSON.stringify(doc));
  return join(d, 'batch.json');
}
const problems = (r: LoadResult) => (r.ok ? [] : r.problems);
const base = (defaults: object, instances: object[]) =>
  json({
    defaults: {
      applicationTemplate: 'Amazon Web Services (AWS)',
      credentials: { SecretToken: { value: 'x' } },
      ...defaults,
    },
    instances,
  });

describe('onboarding fields in a batch file', () => {
  it('takes each field from the instance, else from the defaults', async () => {
    const r = await loadBatchFile(
      base({ settings: { scope: 'assigned' }, assignments: [{ group: 'AWS Admins', role: 'Admin' }] }, [
        { displayName: 'A' },
        { displayName: 'B', settings: { scope: 'all' }, smokeTest: { subject: USER } },
      ]),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [a, b] = r.batch.instances;
    expect(a!.onboarding).toEqual({
      settings: { scope: 'assigned' },
      assignments: [{ group: 'AWS Admins', role: 'Admin' }],
    });
    expect(b!.onboarding).toEqual({
      settings: { scope: 'all' },
      assignments: [{ group: 'AWS Admins', role: 'Admin' }],
      smokeTest: { subject: USER },
    });
  });

  it("docs/batch-format.md's example (test/fixtures/good-batches/onboarding.json) loads as documented", async () => {
    const file = join(import.meta.dirname, '../fixtures/good-batches/onboarding.json');
    const r = await loadBatchFile(file, { env: { SCIM_TOKEN: 'token-from-env' } });
    expect(problems(r)).toEqual([]);
    if (!r.ok) return;
    const [contoso, fabrikam] = r.batch.instances;
    expect(contoso!.onboarding!.settings).toEqual({
      scope: 'assigned',
      deletionThreshold: 500,
      notificationEmail: 'idm-team@contoso.com',
    });
    expect(Object.keys(contoso!.onboarding!.schema!.User!.mappings!)).toHaveLength(4);
    expect(fabrikam!.onboarding!.settings).toEqual({ scope: 'all' }); // replaces the default's as a whole
    expect(fabrikam!.onboarding!.smokeTest).toMatchObject({ type: 'Group', members: [expect.any(String)] });
    expect(plannedWrites(contoso!.onboarding)).toBe(5 + 1 + 2 + 1);
  });

  it('instances without the fields carry none (their job data is unchanged)', async () => {
    const r = await loadBatchFile(base({}, [{ displayName: 'A' }]));
    expect(r.ok && 'onboarding' in r.batch.instances[0]!).toBe(false);
  });

  it.each([
    [{ settings: { scoep: 'all' } }, 'instances[0].settings.scoep', "Did you mean 'scope'?"],
    [{ smokeTest: { subject: USER, typ: 'User' } }, 'instances[0].smokeTest.typ', "Did you mean 'type'?"],
    [{ assignments: [{ grop: 'x' }] }, 'instances[0].assignments[0].grop', "Did you mean 'group'?"],
    [{ schema: { User: { mapings: {} } } }, 'instances[0].schema.User.mapings', "Did you mean 'mappings'?"],
    [
      { schema: { User: { mappings: { title: { sorce: 'jobTitle' } } } } },
      'instances[0].schema.User.mappings.title.sorce',
      "Did you mean 'source'?",
    ],
    [
      {
        schema: {
          User: { scopingFilter: { groups: [{ name: 'g', clauses: [{ atribute: 'a', operator: 'EQUALS' }] }] } },
        },
      },
      'instances[0].schema.User.scopingFilter.groups[0].clauses[0].atribute',
      "Did you mean 'attribute'?",
    ],
    [{ smokeTests: {} }, 'instances[0].smokeTests', "Did you mean 'smokeTest'?"],
  ])('refuses a misspelt field with a suggestion (%j)', async (fields, path, hint) => {
    const r = await loadBatchFile(base({}, [{ displayName: 'A', ...fields }]));
    expect(r.ok).toBe(false);
    expect(problems(r)).toContainEqual({ path, message: expect.stringContaining(hint) });
  });

  it('refuses a setting and a credential that name the same secret key', async () => {
    const r = await loadBatchFile(
      base({ credentials: { SecretToken: { value: 'x' }, SyncAll: { value: 'true' } } }, [
        { displayName: 'A', settings: { scope: 'assigned' } },
      ]),
    );
    expect(problems(r)).toEqual([
      {
        path: 'instances[0].settings.scope',
        message: expect.stringContaining('same secret key as credentials.SyncAll'),
      },
    ]);
  });

  it('refuses bad values with the fix, in defaults too', async () => {
    const r = await loadBatchFile(
      base({ settings: { scope: 'everyone', deletionThreshold: 0 } }, [
        {
          displayName: 'A',
          smokeTest: { subject: 'bob' },
          schema: { User: { mappings: { t: { source: 'a', constant: 'b' } } } },
        },
      ]),
    );
    const byPath = Object.fromEntries(problems(r).map((p) => [p.path, p.message]));
    expect(byPath['defaults.settings.scope']).toMatch(/"assigned".*or "all"/);
    expect(byPath['defaults.settings.deletionThreshold']).toMatch(/whole number.*or false/);
    expect(byPath['instances[0].smokeTest.subject']).toMatch(/object id/);
    expect(byPath['instances[0].schema.User.mappings.t']).toMatch(
      /exactly one of "source", "expression" or "constant"/,
    );
  });
});

describe('desired-state helpers', () => {
  it('compiles settings to the secret keys Graph reads, and compares a read-back field by field', () => {
    const wanted = compileSettings({ scope: 'all', deletionThreshold: false, skipOutOfScopeDeletions: false });
    expect(wanted).toEqual([
      { key: 'SyncAll', value: 'true' },
      { key: 'SyncNotificationSettings', value: '{"DeleteThresholdEnabled":false}' },
      { key: 'SkipOutOfScopeDeletions', value: 'false' },
    ]);
    const readBack = [
      { key: 'SecretToken', value: '*' },
      { key: 'SyncAll', value: 'True' },
      { key: 'SyncNotificationSettings', value: '{"Enabled":false,"DeleteThresholdEnabled":false}' },
      { key: 'SkipOutOfScopeDeletions', value: 'False' },
    ];
    expect(compareSettings(wanted, readBack)).toEqual([]);
    expect(compareSettings(wanted, readBack.slice(0, 2))).toEqual([
      expect.objectContaining({ key: 'SyncNotificationSettings', found: null }),
      expect.objectContaining({ key: 'SkipOutOfScopeDeletions', found: null }),
    ]);
  });

  it('reads provisionOnDemand answers from the key, else from statusInfo in the value', () => {
    expect(
      parseOnDemand({ key: null, value: '{"statusInfo":{"status":"failure","errorCode":"E1","reason":"r"}}' }),
    ).toEqual({ result: 'Failure', code: 'E1', reason: 'r' });
    expect(parseOnDemand({ key: 'not json', value: null }).result).toBe('Failure');
  });

  it('plans writes per instance: 5, plus schema, assignments and smoke test (settings ride in the secrets PUT)', () => {
    expect(plannedWrites(null)).toBe(5);
    expect(plannedWrites({ settings: { scope: 'all' } })).toBe(5);
    expect(
      plannedWrites({
        schema: { User: { enabled: true } },
        assignments: [{ group: 'a' }, { group: 'b' }],
        smokeTest: { subject: USER },
      }),
    ).toBe(9);
  });
});
