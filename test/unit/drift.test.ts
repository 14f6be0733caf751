/** diff's comparison and export's snapshot against the fake Graph: job, keys, settings, assignments, stable JSON. */
import { describe, expect, it } from 'vitest';
import type { BatchInstance } from '../../src/batch/batch-types.ts';
import type { InstanceRecord } from '../../src/ledger/ledger.ts';
import { compareInstance, readSnapshot, stableJson } from '../../src/ops/instance-snapshot.ts';
import { FakeGraph } from '../helpers/fake-graph.ts';

const record = {
  instanceKey: 'scim-a',
  displayName: 'SCIM A',
  state: 'steady',
  applicationObjectId: 'app-1',
  appId: 'appid-1',
  servicePrincipalId: 'sp-1',
  jobId: 'job-1',
  templateId: 'tpl',
} as InstanceRecord;

function graphWith() {
  const graph = new FakeGraph();
  graph.sps.push({ id: 'sp-1', appId: 'appid-1', appRoles: [] } as never);
  graph.jobs.set('sp-1', [
    { id: 'job-1', templateId: 'scim', status: { code: 'Active' }, schedule: { state: 'Active' } },
  ]);
  graph.secrets.set('sp-1', [
    { key: 'SecretToken', value: 'tok-ZZZ' },
    { key: 'SyncAll', value: 'false' },
  ]);
  graph.groups.push({ id: 'grp-1', displayName: 'Sales' } as never);
  return graph;
}

const desired = (over: Partial<BatchInstance> = {}): BatchInstance => ({
  index: 0,
  instanceKey: 'scim-a',
  displayName: 'SCIM A',
  applicationTemplate: { displayName: 'SCIM' },
  synchronizationTemplateId: 'scim',
  credentials: [{ key: 'SecretToken', value: 'tok-new' }],
  credentialSources: [{ key: 'SecretToken', source: 'value' }],
  expect: null,
  onboarding: { settings: { scope: 'assigned' }, assignments: [{ group: 'Sales' }] },
  ...over,
});

describe('diff', () => {
  it('in sync: no differences (credential values are never compared)', async () => {
    const graph = graphWith();
    graph.assignments.set('sp-1', [
      { appRoleId: '00000000-0000-0000-0000-000000000000', principalId: 'grp-1', principalDisplayName: 'Sales' },
    ] as never);
    const snap = await readSnapshot(graph, 'b', record);
    expect(await compareInstance(graph, desired(), snap, record)).toEqual([]);
  });
  it('names each drift: scope changed in the portal, a group unassigned, a key added, the job paused', async () => {
    const graph = graphWith();
    graph.secrets.set('sp-1', [
      { key: 'SecretToken', value: 'x' },
      { key: 'SyncAll', value: 'true' },
      { key: 'Password', value: 'p' },
    ]);
    graph.jobs.get('sp-1')![0]!.status = { code: 'Paused' };
    const snap = await readSnapshot(graph, 'b', record);
    const diffs = await compareInstance(graph, desired(), snap, record);
    expect(diffs).toEqual(
      expect.arrayContaining([
        { field: 'job.status', desired: 'running', actual: 'paused' },
        { field: 'settings.SyncAll', desired: 'false', actual: 'true' },
        { field: 'assignments.Sales', desired: 'default', actual: 'not assigned' },
        { field: 'secrets.Password', desired: '(not in file)', actual: '(set)' },
      ]),
    );
    expect(JSON.stringify(diffs)).not.toMatch(/tok-new|"p"/);
  });
});

describe('export snapshot', () => {
  it('lists credential keys by name only and serialises with sorted keys', async () => {
    const graph = graphWith();
    const snap = await readSnapshot(graph, 'b', record);
    expect(snap.credentialKeys).toEqual(['SecretToken']);
    expect(snap.settings).toEqual({ SyncAll: 'false' });
    const text = stableJson(snap);
    expect(text).not.toContain('tok-ZZZ');
    expect(text).toBe(stableJson(JSON.parse(text)));
    expect(Object.keys(JSON.parse(text) as object)).toEqual(Object.keys(JSON.parse(text) as object).sort());
  });
});
