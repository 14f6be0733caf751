/**
 * The onboarding fields end to end: real Redis, the simulator over HTTPS, real MSAL, real BullMQ
 * workers. Each field is checked in Graph (the simulator) after the run, not only in the ledger.
 */
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import type { BatchInstance } from '../../src/batch/batch-types.ts';
import { instanceKeyOf } from '../../src/batch/instance-key.ts';
import type { OnboardingInput } from '../../src/batch/onboarding-fields.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { stepJobId } from '../../src/flow/build-flow.ts';
import { createStepProcessor } from '../../src/flow/processor.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { startStepsWorker } from '../../src/app/steps-worker.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitForStates } from '../helpers/wait.ts';

const CANARY = '5e1d0000-0000-4000-8000-000000000005';
const UNASSIGNED = '5e1d0000-0000-4000-8000-000000000006';
const SALES = '6a0b0000-0000-4000-8000-000000000001';
const ENDS = ['steady', 'failed', 'quarantined'];

let stack: LocalStack;
let rt: Runtime;
let worker: Worker;
let poller: PollerHandle;

beforeAll(async () => {
  stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
  rt = await stack.runtime(silentLogger());
  worker = startStepsWorker(rt, { concurrency: 20 });
  poller = startPoller(rt);
});

afterAll(async () => {
  await worker?.close();
  await poller?.close();
  await rt?.close();
  await stack?.close();
});

const aws = (i: number, name: string, onboarding: OnboardingInput): BatchInstance => ({
  ...instance(i, name),
  onboarding,
});

function scim(i: number, name: string, onboarding: OnboardingInput): BatchInstance {
  return {
    index: i,
    instanceKey: instanceKeyOf(name),
    displayName: name,
    applicationTemplate: { displayName: 'SCIM Example App' },
    synchronizationTemplateId: 'scim',
    credentials: [
      { key: 'BaseAddress', value: 'https://scim.example.com/v2' },
      { key: 'SecretToken', value: `tok-${i}` },
    ],
    credentialSources: [
      { key: 'BaseAddress', source: 'value' },
      { key: 'SecretToken', source: 'value' },
    ],
    expect: 'steady',
    onboarding,
  };
}

const byName = async (batchId: string) =>
  Object.fromEntries((await waitForStates(rt.ledger, batchId, ENDS, 120_000)).map((r) => [r.displayName, r]));

describe('onboarding fields', () => {
  it('settings: one complete secrets PUT, settings read back in clear, credentials still saved', async () => {
    await enqueueBatch(
      rt,
      batchOf('onb-settings', [
        aws(0, 'AWS Settings', { settings: { scope: 'assigned', deletionThreshold: 250, notifyOnFailure: false } }),
      ]),
    );
    const r = (await byName('onb-settings'))['AWS Settings']!;
    expect(r.state).toBe('steady');
    const saved = await rt.graph!.getSynchronizationSecrets(r.servicePrincipalId!);
    const v = Object.fromEntries(saved.map((s) => [s.key, s.value]));
    expect(v.SyncAll).toBe('false');
    expect(JSON.parse(v.SyncNotificationSettings!)).toMatchObject({
      Enabled: false,
      DeleteThresholdEnabled: true,
      DeleteThresholdValue: 250,
    });
    // The credentials went in the same PUT (a partial PUT would have replaced them).
    expect(v.SecretToken).toBe('*');
    expect(v.ClientSecret).toBe('*');
  });

  it('settings: a scope change on a running job is followed by a restart, so the new scope applies', async () => {
    const all = scim(0, 'SCIM Scope Change', { settings: { scope: 'all' } });
    await enqueueBatch(rt, batchOf('onb-scope-1', [all]));
    expect((await byName('onb-scope-1'))['SCIM Scope Change']!.state).toBe('steady');
    // Another batch adopts the running job and narrows the scope; its smoke test user is assigned
    // nowhere, so under the new scope (only once the job restarted) Graph skips it.
    const assigned = scim(0, 'SCIM Scope Change', {
      settings: { scope: 'assigned' },
      smokeTest: { subject: UNASSIGNED },
    });
    await enqueueBatch(rt, batchOf('onb-scope-2', [assigned]));
    const r = (await byName('onb-scope-2'))['SCIM Scope Change']!;
    expect(r.state).toBe('failed');
    expect(r.lastError).toMatch(/Skipped \(NotEffectivelyEntitled/);
  });

  it('assignments: by name and id, the AWS role waited for until the first cycle imports it, never twice', async () => {
    const before = stack.sim.stats();
    // A first cycle long enough that the step surely runs before the roles exist (1.5 s real).
    const firstCycleMs = stack.sim.settings.firstCycleMs;
    stack.sim.configure({ firstCycleMs: 1500 });
    await enqueueBatch(
      rt,
      batchOf('onb-assign', [
        aws(0, 'AWS Assign', {
          assignments: [
            { group: 'AWS Admins', role: 'Admin' },
            { group: SALES, role: 'msiam_access' },
          ],
        }),
        aws(1, 'AWS Unknown Group', { assignments: [{ group: 'No Such Group' }] }),
        aws(2, 'AWS Sibling', {}),
      ]),
    );
    const rows = await byName('onb-assign').finally(() => stack.sim.configure({ firstCycleMs }));
    const r = rows['AWS Assign']!;
    expect(r.state).toBe('steady');
    expect(r.assignments).toBe(2);
    const sp = await rt.graph!.getServicePrincipal(r.servicePrincipalId!);
    const admin = sp!.appRoles!.find((x) => x.displayName === 'Admin')!;
    expect(admin).toBeDefined(); // imported by the first cycle, after the job started
    // The step did wait for it (durably: its wait state is saved in the job, no worker slept).
    const step = await rt.stepsQueue.getJob(stepJobId('onb-assign', r.instanceKey, 'assign-groups'));
    expect((step?.data as { state?: { roleWaitSince?: number } }).state?.roleWaitSince).toBeGreaterThan(0);
    const assigned = await rt.graph!.listAppRoleAssignedTo(r.servicePrincipalId!);
    expect(assigned.map((a) => a.appRoleId).sort()).toEqual([admin.id, '7dfd756e-8c27-4472-b2b7-38c17fc5de5e'].sort());
    expect(rows['AWS Unknown Group']!.state).toBe('failed');
    expect(rows['AWS Unknown Group']!.lastError).toMatch(/group 'No Such Group' does not exist/);
    expect(rows['AWS Sibling']!.state).toBe('steady');
    const after = stack.sim.stats();
    expect(after.appRoleAssignments - before.appRoleAssignments).toBe(2);
    expect(after.appRoleAssignmentsRefused - before.appRoleAssignmentsRefused).toBe(0);
  });

  it('schema: a SCIM mapping and a scoping filter applied, read back, and not PUT again when already there', async () => {
    const edits: OnboardingInput['schema'] = {
      User: {
        mappings: { displayName: { expression: 'Join(" ", [givenName], [surname])' } },
        scopingFilter: {
          mode: 'replace',
          groups: [
            {
              name: 'Enabled Sales accounts',
              clauses: [
                { attribute: 'accountEnabled', operator: 'IS TRUE' },
                { attribute: 'department', operator: 'EQUALS', values: ['Sales'] },
              ],
            },
          ],
        },
      },
    };
    const before = stack.sim.stats().schemaUpdates;
    await enqueueBatch(rt, batchOf('onb-schema', [scim(0, 'SCIM Schema', { schema: edits })]));
    const r = (await byName('onb-schema'))['SCIM Schema']!;
    expect(r.state).toBe('steady');
    expect(r.schemaUpdatedAt).toBeTruthy();
    const schema = await rt.graph!.getSynchronizationSchema(r.servicePrincipalId!, r.jobId!);
    const user = schema!.synchronizationRules![0]!.objectMappings!.find((o) => o.sourceObjectName === 'User')!;
    const dn = user.attributeMappings!.find((a) => a.targetAttributeName === 'displayName')!;
    expect(dn.source).toMatchObject({ type: 'Function', name: 'Join' });
    expect(user.scope!.groups!.map((g) => g.name)).toEqual(['Enabled Sales accounts']);
    expect(stack.sim.stats().schemaUpdates - before).toBe(1);
    // The same edits on another batch adopting this app: the schema already has them, no PUT.
    await enqueueBatch(rt, batchOf('onb-schema-2', [scim(0, 'SCIM Schema', { schema: edits })]));
    expect((await byName('onb-schema-2'))['SCIM Schema']!.state).toBe('steady');
    expect(stack.sim.stats().schemaUpdates - before).toBe(1);
  });

  it("smoke test: Success recorded; a Skipped canary fails its instance with Graph's code; fixed and re-enqueued, only what is not done runs", async () => {
    const ok = scim(0, 'SCIM Smoke OK', {
      assignments: [{ group: 'Sales' }],
      settings: { scope: 'assigned' },
      smokeTest: { subject: CANARY },
    });
    const skipped = scim(1, 'SCIM Smoke Skipped', {
      assignments: [{ group: 'Sales' }],
      settings: { scope: 'assigned' },
      smokeTest: { subject: UNASSIGNED },
    });
    await enqueueBatch(rt, batchOf('onb-smoke', [ok, skipped]));
    const rows = await byName('onb-smoke');
    expect(rows['SCIM Smoke OK']).toMatchObject({ state: 'steady', smokeTest: 'Success', smokeTestPassed: true });
    const bad = rows['SCIM Smoke Skipped']!;
    expect(bad.state).toBe('failed');
    expect(bad.lastError).toMatch(/Skipped \(NotEffectivelyEntitled/);
    expect(bad.smokeTest).toMatch(/^Skipped/);

    const before = stack.sim.stats();
    const fixed = { ...skipped, onboarding: { ...skipped.onboarding, smokeTest: { subject: CANARY } } };
    const res = await enqueueBatch(rt, batchOf('onb-smoke', [ok, fixed]));
    expect(res).toMatchObject({ retried: 1, skipped: 1 });
    await waitForStates(rt.ledger, 'onb-smoke', ['steady'], 120_000);
    const after = stack.sim.stats();
    expect(after.applications).toBe(before.applications);
    expect(after.appRoleAssignments - before.appRoleAssignments).toBe(0); // Sales was assigned already
    expect(after.appRoleAssignmentsRefused - before.appRoleAssignmentsRefused).toBe(0);
    expect(after.provisionOnDemand.Success - before.provisionOnDemand.Success).toBe(1);
  });
});

describe('a crash between an assignment and its ledger write', () => {
  it('the retried step finds the assignment in Graph and does not POST it again', async () => {
    // A second worker whose ledger write of the assignment count dies once, after Graph has
    // assigned: what a worker killed at that instant leaves behind. The default worker is
    // paused so this one takes the job.
    await worker.pause();
    let crashed = 0;
    const crashing = new Proxy(rt.ledger, {
      get(target, prop, receiver) {
        if (prop === 'set')
          return async (...args: Parameters<Ledger['set']>) => {
            if ('assignments' in args[1] && crashed++ === 0) throw new Error('simulated crash after the POST');
            return target.set(...args);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const processor = createStepProcessor({
      steps: {
        graph: rt.graph!,
        store: crashing,
        vault: rt.vault,
        settings: rt.stepSettings,
        logger: rt.logger,
        now: Date.now,
      },
      ledger: rt.ledger,
      pollQueue: rt.pollQueue,
      eventsQueue: null,
      logger: rt.logger,
    });
    const connection = rt.redis.duplicate();
    const w2 = new Worker(QUEUES.steps, processor, { connection, prefix: rt.prefix, concurrency: 5 });
    try {
      const before = stack.sim.stats();
      await enqueueBatch(
        rt,
        batchOf('onb-crash', [aws(0, 'AWS Crash', { assignments: [{ group: 'Sales', role: 'msiam_access' }] })]),
      );
      const r = (await byName('onb-crash'))['AWS Crash']!;
      expect(crashed).toBeGreaterThanOrEqual(2); // it did crash, and the retry ran
      expect(r.state).toBe('steady');
      const after = stack.sim.stats();
      expect(after.appRoleAssignments - before.appRoleAssignments).toBe(1);
      expect(after.appRoleAssignmentsRefused - before.appRoleAssignmentsRefused).toBe(0);
      expect(await rt.graph!.listAppRoleAssignedTo(r.servicePrincipalId!)).toHaveLength(1);
    } finally {
      await w2.close();
      connection.disconnect();
      void worker.resume();
    }
  });
});
