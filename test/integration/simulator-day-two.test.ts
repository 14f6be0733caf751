/**
 * The simulator's day-two behaviour: pause and delete of jobs, applications soft-deleted into
 * deleted items (restore, permanent delete, 30 simulated days of retention, the name free for a
 * new instantiate), validateCredentials with the saved credentials, credentials that expire on a
 * simulated date, and the accidental-deletion threshold (staged deletes, TooManyDeletes,
 * ForceDeletes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { collectionSchema, graphErrorBodySchema, provisioningObjectSummarySchema } from '../../src/graph/schemas.ts';
import { startSimProcess } from '../../src/dev/sim/process.ts';
import { startSimHttp, type SimHttp } from '../helpers/sim-http.ts';
import { waitFor } from '../helpers/wait.ts';

let h: SimHttp | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const DAY = 24 * 60 * 60 * 1000;
const q = (s: string) => encodeURIComponent(s);
const logsPage = collectionSchema(provisioningObjectSummarySchema);
/** Incremental cycles every 400 ms so a test sees the "next cycle" without a simulated 40 minutes. */
const FAST_CYCLES = { overrides: { firstCycleMs: 150, cycleIntervalMs: 400, incrementalCycleMs: 50 } };

async function logs(x: SimHttp, filter: string) {
  const r = await x.call('GET', `/auditLogs/provisioning?$top=999&$filter=${q(filter)}`);
  expect(r.status).toBe(200);
  return logsPage.parse(r.json).value;
}

/** Waits (30 s at most) for `fn` to hold; a timeout names the condition by its source. */
const until = (fn: () => Promise<boolean>) => waitFor(fn.toString().replace(/\s+/g, ' ').slice(0, 160), fn, 30_000);

async function codeOf(x: SimHttp, spId: string, jobId: string) {
  return (await x.getJob(spId, jobId)).status?.code;
}

describe('jobs: pause and delete', () => {
  it('pause keeps status and history; delete is 204 then 404; the logs stay', async () => {
    const x = (h = await startSimHttp());
    const { spId, jobId } = await x.onboard('Keep History', 'tok');
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    const before = await x.getJob(spId, jobId);
    const jobUrl = `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`;
    expect((await x.call('POST', `${jobUrl}/pause`)).status).toBe(204);
    const paused = await x.getJob(spId, jobId);
    expect(paused.status?.code).toBe('Paused');
    expect(paused.schedule?.state).toBe('Paused');
    expect(paused.status?.lastExecution).toEqual(before.status?.lastExecution);
    expect(paused.status?.steadyStateFirstAchievedTime).toBe(before.status?.steadyStateFirstAchievedTime);
    const logged = (await logs(x, `jobId eq '${jobId}'`)).length;
    expect(logged).toBeGreaterThan(0);

    expect((await x.call('DELETE', jobUrl)).status).toBe(204);
    expect((await x.call('GET', jobUrl)).status).toBe(404);
    expect((await x.call('DELETE', jobUrl)).status).toBe(404);
    expect((await logs(x, `jobId eq '${jobId}'`)).length).toBe(logged);
  });
});

describe('applications: soft delete, deleted items, restore, permanent delete', () => {
  it('DELETE /applications/{id} takes the service principal and its job with it; both wait in deleted items', async () => {
    const x = (h = await startSimHttp());
    const { appId, spId, jobId } = await x.onboard('Contoso Offboarded', 'tok');
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    expect((await x.call('DELETE', `/applications/${appId}`)).status).toBe(204);
    expect((await x.call('GET', `/applications/${appId}`)).status).toBe(404);
    expect((await x.call('GET', `/servicePrincipals/${spId}`)).status).toBe(404);
    expect((await x.call('GET', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`)).status).toBe(404);
    const listed = await x.call('GET', `/applications?$filter=${q("displayName eq 'Contoso Offboarded'")}`);
    expect((listed.json as { value: unknown[] }).value).toEqual([]);
    expect((await x.call('DELETE', `/applications/${appId}`)).status).toBe(404);
    // The job's provisioning logs are audit records: still there.
    expect((await logs(x, `jobId eq '${jobId}'`)).length).toBeGreaterThan(0);

    const apps = await x.call('GET', '/directory/deletedItems/microsoft.graph.application');
    expect(apps.status).toBe(200);
    const [deleted] = (apps.json as { value: Record<string, unknown>[] }).value;
    expect(deleted).toMatchObject({
      '@odata.type': '#microsoft.graph.application',
      id: appId,
      displayName: 'Contoso Offboarded',
    });
    expect(Date.parse(String(deleted!.deletedDateTime))).toBeGreaterThan(0);
    const sps = await x.call('GET', '/directory/deletedItems/microsoft.graph.servicePrincipal');
    expect((sps.json as { value: { id: string }[] }).value.map((v) => v.id)).toEqual([spId]);
    const one = await x.call('GET', `/directory/deletedItems/${appId}`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ '@odata.type': '#microsoft.graph.application', id: appId });
    // The cast is required, as in Graph.
    const bare = await x.call('GET', '/directory/deletedItems');
    expect(bare.status).toBe(400);
    expect(graphErrorBodySchema.safeParse(bare.json).success).toBe(true);
  });

  it("a deleted application's name is free: a new instantiate is not a duplicate", async () => {
    const x = (h = await startSimHttp());
    const first = await x.onboard('Reused Name', 'tok');
    expect((await x.call('DELETE', `/applications/${first.appId}`)).status).toBe(204);
    const second = await x.onboard('Reused Name', 'tok');
    expect(second.appId).not.toBe(first.appId);
    expect(x.sim.stats().duplicateApplications).toBe(0);
    expect(x.sim.stats().applications).toBe(1);
    // A third while the second lives is a duplicate.
    await x.onboard('Reused Name', 'tok');
    expect(x.sim.stats().duplicateApplications).toBe(1);
  });

  it('restore brings the application back (200, the object); permanent delete is 204, then 404', async () => {
    const x = (h = await startSimHttp());
    const a = await x.onboard('Restore Me', 'tok');
    const b = await x.onboard('Purge Me', 'tok');
    for (const id of [a.appId, b.appId]) expect((await x.call('DELETE', `/applications/${id}`)).status).toBe(204);

    const restored = await x.call('POST', `/directory/deletedItems/${a.appId}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.json).toMatchObject({ '@odata.type': '#microsoft.graph.application', id: a.appId });
    expect((await x.call('GET', `/applications/${a.appId}`)).status).toBe(200);
    expect((await x.call('GET', `/directory/deletedItems/${a.appId}`)).status).toBe(404);

    expect((await x.call('DELETE', `/directory/deletedItems/${b.appId}`)).status).toBe(204);
    expect((await x.call('GET', `/directory/deletedItems/${b.appId}`)).status).toBe(404);
    expect((await x.call('DELETE', `/directory/deletedItems/${b.appId}`)).status).toBe(404);
    expect((await x.call('POST', `/directory/deletedItems/${b.appId}/restore`)).status).toBe(404);
    const left = await x.call('GET', '/directory/deletedItems/microsoft.graph.application');
    expect((left.json as { value: unknown[] }).value).toEqual([]);
    // Counted by route, not by object id.
    expect(x.sim.stats().byRoute['DELETE /directory/deletedItems/{id}']).toBe(2);
    expect(x.sim.stats().byRoute['POST /directory/deletedItems/{id}/restore']).toBe(2);
  });

  it('deleted items are kept 30 simulated days: moving the clock past that empties them', async () => {
    const x = (h = await startSimHttp());
    const { appId } = await x.onboard('Expiring Delete', 'tok');
    expect((await x.call('DELETE', `/applications/${appId}`)).status).toBe(204);
    expect((await x.control('POST', 'clock', { advanceDays: 29 })).status).toBe(200);
    expect((await x.call('GET', `/directory/deletedItems/${appId}`)).status).toBe(200);
    expect((await x.control('POST', 'clock', { advanceDays: 2 })).status).toBe(200);
    expect((await x.call('GET', `/directory/deletedItems/${appId}`)).status).toBe(404);
  });
});

describe('validateCredentials with useSavedCredentials', () => {
  it('validates what is saved: good 204, bad 400 with the reason, none saved 400', async () => {
    const x = (h = await startSimHttp());
    const good = await x.onboard('Saved Good', 'tok');
    const bad = await x.onboard('Saved Bad', 'bad-token');
    const validate = (spId: string, jobId: string, body: unknown) =>
      x.call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/validateCredentials`, body);
    expect((await validate(good.spId, good.jobId, { useSavedCredentials: true })).status).toBe(204);
    const r = await validate(bad.spId, bad.jobId, { useSavedCredentials: true });
    expect(r.status).toBe(400);
    expect(graphErrorBodySchema.parse(r.json).error.message).toMatch(/SecretToken/);
    // Posted credentials are ignored when useSavedCredentials is true (Microsoft's documentation).
    const posted = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: 'fine' },
    ];
    expect((await validate(bad.spId, bad.jobId, { useSavedCredentials: true, credentials: posted })).status).toBe(400);
    expect((await validate(bad.spId, bad.jobId, { credentials: posted })).status).toBe(204);
    await x.call('PUT', `/servicePrincipals/${good.spId}/synchronization/secrets`, { value: [] });
    expect((await validate(good.spId, good.jobId, { useSavedCredentials: true })).status).toBe(400);
  });
});

describe('credentials that expire on a simulated date', () => {
  it('valid before the date; after it validation fails and the next cycle quarantines; new secrets and a restart end it', async () => {
    const x = (h = await startSimHttp(FAST_CYCLES));
    const expires = new Date(x.sim.clock().now() + 10 * DAY).toISOString();
    const { spId, jobId } = await x.onboard('Expiring Token', `expires:${expires}:scim-token`);
    const jobUrl = `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`;
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    expect((await x.call('POST', `${jobUrl}/validateCredentials`, { useSavedCredentials: true })).status).toBe(204);
    const steady = (await x.getJob(spId, jobId)).status?.steadyStateFirstAchievedTime;

    const moved = await x.control('POST', 'clock', { advanceDays: 11 });
    expect(Date.parse((moved.json as { now: string }).now)).toBeGreaterThan(Date.parse(expires));
    const v = await x.call('POST', `${jobUrl}/validateCredentials`, { useSavedCredentials: true });
    expect(v.status).toBe(400);
    expect(graphErrorBodySchema.parse(v.json).error.message).toMatch(/expired/);

    await until(async () => (await codeOf(x, spId, jobId)) === 'Quarantine');
    const q1 = await x.getJob(spId, jobId);
    expect(q1.status?.quarantine?.reason).toBe('EncounteredQuarantineException');
    expect(q1.status?.quarantine?.error?.message).toMatch(/expired/);
    // The cycles before the expiry stay in the logs as successes; the failing cycle adds a failure.
    const entries = await logs(x, `jobId eq '${jobId}'`);
    expect(entries.some((e) => e.provisioningStatusInfo?.status === 'success')).toBe(true);
    expect(entries.some((e) => e.statusInfo?.reason?.includes('expired'))).toBe(true);
    expect(steady).not.toBe('0001-01-01T00:00:00Z');

    const renewed = new Date(x.sim.clock().now() + 365 * DAY).toISOString();
    const value = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: `expires:${renewed}:new-token` },
    ];
    expect((await x.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value })).status).toBe(204);
    const restart = { criteria: { resetScope: 'QuarantineState' } };
    expect((await x.call('POST', `${jobUrl}/restart`, restart)).status).toBe(204);
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
  });

  it('a job started with an already expired token quarantines at its first cycle', async () => {
    const x = (h = await startSimHttp(FAST_CYCLES));
    const { spId, jobId } = await x.onboard('Already Expired', 'expires:2020-01-01:old');
    await until(async () => (await codeOf(x, spId, jobId)) === 'Quarantine');
  });

  it('secrets replaced before the date never expire the job', async () => {
    const x = (h = await startSimHttp(FAST_CYCLES));
    const soon = new Date(x.sim.clock().now() + DAY).toISOString();
    const { spId, jobId } = await x.onboard('Rotated In Time', `expires:${soon}:tok`);
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    const value = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: 'no-expiry' },
    ];
    expect((await x.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value })).status).toBe(204);
    x.sim.clock().advance(2 * DAY);
    const cycles = (await x.getJob(spId, jobId)).status?.lastExecution?.timeEnded;
    await until(async () => (await x.getJob(spId, jobId)).status?.lastExecution?.timeEnded !== cycles);
    expect(await codeOf(x, spId, jobId)).toBe('Active');
  });

  it('GET /_sim/clock shows the calendar; it only moves forward', async () => {
    const x = (h = await startSimHttp());
    const c = await x.control('GET', 'clock');
    expect(c.json).toMatchObject({ timeScale: 1, advancedMs: 0 });
    expect((await x.control('POST', 'clock', { set: '2001-01-01T00:00:00Z' })).status).toBe(400);
    const later = await x.control('POST', 'clock', { set: '2100-01-01T00:00:00Z' });
    expect((later.json as { now: string }).now.startsWith('2100-01-01')).toBe(true);
  });
});

describe('accidental deletions: the threshold', () => {
  it('over the threshold: staged deletes logged as skipped, TooManyDeletes; ForceDeletes performs them', async () => {
    const x = (h = await startSimHttp(FAST_CYCLES));
    const { spId, jobId } = await x.onboard('Mass Offboarding', 'tok');
    const jobUrl = `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`;
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    const staged = await x.control('POST', 'deletes', { displayName: 'Mass Offboarding', count: 5, threshold: 3 });
    expect(staged.json).toMatchObject({ jobId, pendingDeletes: { count: 5, threshold: 3 } });

    await until(async () => (await codeOf(x, spId, jobId)) === 'Quarantine');
    const job = await x.getJob(spId, jobId);
    expect(job.status?.quarantine?.reason).toBe('TooManyDeletes');
    expect(job.synchronizationJobSettings).toContainEqual({ name: 'QuarantineTooManyDeletesThreshold', value: '3' });
    const stagedEntries = await logs(x, `jobId eq '${jobId}' and provisioningAction eq 'stagedDelete'`);
    expect(stagedEntries).toHaveLength(5);
    for (const e of stagedEntries) {
      expect(e.action).toBe('StagedDelete');
      expect(e.statusInfo).toMatchObject({ status: 'skipped', errorCode: 'TooManyDeletes' });
      expect(e.provisioningStatusInfo?.status).toBe('skipped');
    }
    expect(await logs(x, `jobId eq '${jobId}' and provisioningAction eq 'delete'`)).toHaveLength(0);

    // A restart without ForceDeletes stages them again.
    expect((await x.call('POST', `${jobUrl}/restart`, { criteria: { resetScope: 'QuarantineState' } })).status).toBe(
      204,
    );
    await until(async () => (await logs(x, `jobId eq '${jobId}' and action eq 'StagedDelete'`)).length === 10);
    expect((await x.getJob(spId, jobId)).status?.quarantine?.reason).toBe('TooManyDeletes');

    const force = { criteria: { resetScope: 'ForceDeletes, QuarantineState' } };
    expect((await x.call('POST', `${jobUrl}/restart`, force)).status).toBe(204);
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    const deletes = await logs(x, `jobId eq '${jobId}' and provisioningAction eq 'delete'`);
    expect(deletes).toHaveLength(5);
    expect(deletes.every((e) => e.action === 'Delete' && e.provisioningStatusInfo?.status === 'success')).toBe(true);
    // Done: the next cycles do not delete again.
    const ended = (await x.getJob(spId, jobId)).status?.lastExecution?.timeEnded;
    await until(async () => (await x.getJob(spId, jobId)).status?.lastExecution?.timeEnded !== ended);
    expect(await logs(x, `jobId eq '${jobId}' and provisioningAction eq 'delete'`)).toHaveLength(5);
    expect(await codeOf(x, spId, jobId)).toBe('Active');
  });

  it('at or under the threshold the next cycle performs the deletes and the job stays Active', async () => {
    const x = (h = await startSimHttp(FAST_CYCLES));
    const { spId, jobId } = await x.onboard('Few Leavers', 'tok');
    await until(async () => (await codeOf(x, spId, jobId)) === 'Active');
    x.sim.stageDeletes({ jobId, count: 3, threshold: 3 });
    await until(async () => (await logs(x, `jobId eq '${jobId}' and action eq 'Delete'`)).length === 3);
    expect(await codeOf(x, spId, jobId)).toBe('Active');
  });

  it('bad knob bodies are 400 naming the field', async () => {
    const x = (h = await startSimHttp());
    await x.onboard('Knob Target', 'tok');
    const r1 = await x.control('POST', 'deletes', { displayName: 'Knob Target', count: -1 });
    expect(r1.status).toBe(400);
    expect(JSON.stringify(r1.json)).toMatch(/count/);
    const r2 = await x.control('POST', 'deletes', { displayName: 'Nobody', count: 1 });
    expect(r2.status).toBe(400);
  });
});

describe('the knobs on a simulator in its own process', () => {
  it('SimProcess.moveClock moves the calendar; stageDeletes naming nobody is refused', async () => {
    const p = await startSimProcess({ profile: 'fast', seed: 5, timeScale: 1 });
    try {
      const before = Date.now();
      const moved = await p.moveClock({ advanceDays: 3 });
      expect(Date.parse(moved.now)).toBeGreaterThanOrEqual(before + 3 * DAY);
      await expect(p.stageDeletes({ displayName: 'Nobody', count: 1 })).rejects.toThrow(/400/);
    } finally {
      await p.close();
    }
  });
});
