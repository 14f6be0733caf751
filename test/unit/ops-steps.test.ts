/** The day-two steps (rotate, verify, teardown) against the fake Graph, look-before-you-act paths included. */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/graph/errors.ts';
import {
  completeSecretSet,
  restartIfQuarantined,
  ROTATED_FIELD,
  ROTATION_FIELD,
  saveRotation,
  validateRotation,
} from '../../src/steps/ops/rotate.ts';
import { deleteApplication, deleteJob, pauseJob, purgeApplication } from '../../src/steps/ops/teardown.ts';
import { verifySavedCredentials } from '../../src/steps/ops/verify.ts';
import type { InstanceIds } from '../../src/steps/types.ts';
import { fakeDeps, FakeGraph, INSTANCE } from '../helpers/fake-graph.ts';

const input = (prev: InstanceIds, state: Record<string, unknown> = {}) => ({ instance: INSTANCE, prev, state });

/** A started instance: app, service principal, a job, and saved secrets (token masked on read-back). */
function started() {
  const graph = new FakeGraph();
  graph.apps.push({ id: 'app-1', appId: 'appid-1', displayName: INSTANCE.displayName });
  graph.sps.push({ id: 'sp-1', appId: 'appid-1' });
  graph.jobs.set('sp-1', [
    { id: 'job-1', templateId: 'aws', status: { code: 'Active' }, schedule: { state: 'Active' } },
  ]);
  graph.secrets.set('sp-1', [
    { key: 'SyncAll', value: 'false' },
    { key: 'SecretToken', value: 'old-token' },
  ]);
  const f = fakeDeps(graph);
  const ids: InstanceIds = {
    servicePrincipalId: 'sp-1',
    jobId: 'job-1',
    applicationObjectId: 'app-1',
    appId: 'appid-1',
  };
  return { ...f, graph, ids };
}

describe('completeSecretSet', () => {
  it('keeps settings read back in clear and takes new credential values', () => {
    const set = completeSecretSet(
      [
        { key: 'BaseAddress', value: 'https://x' },
        { key: 'SecretToken', value: '*' },
      ],
      [{ key: 'SecretToken', value: 'new' }],
      'A',
    );
    expect(set).toEqual([
      { key: 'BaseAddress', value: 'https://x' },
      { key: 'SecretToken', value: 'new' },
    ]);
  });
  it('refuses when a masked key has no new value (a PUT would lose it)', () => {
    expect(() =>
      completeSecretSet([{ key: 'Password', value: '*' }], [{ key: 'SecretToken', value: 'n' }], 'A'),
    ).toThrow(/no value for Password/);
  });
});

describe('rotate steps', () => {
  it('validate → save → no restart for a running job: the complete set is saved once, the sealed copy dropped', async () => {
    const { deps, graph, store, ids } = started();
    await store.set(INSTANCE, { [ROTATION_FIELD]: JSON.stringify([{ key: 'SecretToken', value: 'new-token' }]) });
    const st = { runId: 'r1' };
    await validateRotation(deps, input(ids, st));
    await saveRotation(deps, input(ids, st));
    await restartIfQuarantined(deps, input(ids, st));
    expect(graph.secrets.get('sp-1')).toEqual([
      { key: 'SyncAll', value: 'false' },
      { key: 'SecretToken', value: 'new-token' },
    ]);
    expect((await store.get(INSTANCE, [ROTATION_FIELD]))[ROTATION_FIELD]).toBeNull();
    expect(graph.count('restartSynchronizationJob')).toBe(0);
    // A re-run of the same run (crash after the PUT) saves nothing again.
    await saveRotation(deps, input(ids, st));
    await validateRotation(deps, input(ids, st));
    expect(graph.count('saveSecrets')).toBe(1);
    expect((await store.get(INSTANCE, [ROTATED_FIELD]))[ROTATED_FIELD]).toBe('r1');
  });
  it('a refused new value fails permanently and leaves the saved set untouched', async () => {
    const { deps, graph, store, ids } = started();
    await store.set(INSTANCE, { [ROTATION_FIELD]: JSON.stringify([{ key: 'SecretToken', value: 'bad-token' }]) });
    const err = await validateRotation(deps, input(ids, { runId: 'r2' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/rejected the new credentials of 'AWS Contoso'.*invalid SecretToken/);
    expect((err as Error).message).not.toContain('bad-token');
    expect(graph.count('saveSecrets')).toBe(0);
    expect(graph.secrets.get('sp-1')?.find((p) => p.key === 'SecretToken')?.value).toBe('old-token');
  });
  it('restarts with QuarantineState only a quarantined job', async () => {
    const { deps, graph, ids } = started();
    graph.jobs.get('sp-1')![0]!.status = { code: 'Quarantine' };
    await restartIfQuarantined(deps, input(ids));
    expect(graph.restarts).toEqual(['QuarantineState']);
  });
});

describe('verify step', () => {
  it('records ok, then failing with Graph reason (a finding, not a failure)', async () => {
    const { deps, graph, store, ids } = started();
    await verifySavedCredentials(deps, input(ids));
    expect((await store.get(INSTANCE, ['credentialsCheck'])).credentialsCheck).toBe('ok');
    graph.validateCredentials = async () => {
      const { graphError } = await import('../helpers/fake-graph.ts');
      throw graphError(400, 'permanent', 'BadRequest', 'token expired');
    };
    await verifySavedCredentials(deps, input(ids));
    const rec = await store.get(INSTANCE, ['credentialsCheck', 'credentialsError']);
    expect(rec).toEqual({ credentialsCheck: 'failing', credentialsError: 'token expired' });
  });
});

describe('teardown steps', () => {
  it('pause → delete job → delete app → purge; a second run calls no delete', async () => {
    const { deps, graph, ids } = started();
    const st = { purge: true };
    for (const step of [pauseJob, deleteJob, deleteApplication, purgeApplication]) await step(deps, input(ids, st));
    expect(graph.jobs.get('sp-1')).toEqual([]);
    expect(graph.apps).toEqual([]);
    expect(graph.deletedApps).toEqual([]);
    const writes = [
      'pauseSynchronizationJob',
      'deleteSynchronizationJob',
      'deleteApplication',
      'purgeDeletedApplication',
    ];
    expect(writes.map((w) => graph.count(w))).toEqual([1, 1, 1, 1]);
    for (const step of [pauseJob, deleteJob, deleteApplication, purgeApplication]) await step(deps, input(ids, st));
    expect(writes.map((w) => graph.count(w))).toEqual([1, 1, 1, 1]);
  });
  it('without purge the application stays in deleted items', async () => {
    const { deps, graph, ids } = started();
    await deleteApplication(deps, input(ids));
    await purgeApplication(deps, input(ids, { purge: false }));
    expect(graph.deletedApps.map((a) => a.id)).toEqual(['app-1']);
  });
  it('refuses without an application id in the ledger, and when the id now names another app', async () => {
    const { deps, graph, ids } = started();
    await expect(deleteApplication(deps, input({ ...ids, applicationObjectId: undefined }))).rejects.toThrow(
      /ledger holds no application id/,
    );
    await expect(deleteApplication(deps, input({ ...ids, appId: 'other' }))).rejects.toThrow(/not deleted/);
    expect(graph.count('deleteApplication')).toBe(0);
  });
});
