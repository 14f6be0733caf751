/**
 * The create-sync-job step with the real Graph client against the simulator under both answers
 * to an undocumented case, a second job from the same template: 409 (the step adopts the job
 * it finds) or accepted (a second job: why the step records its intent before creating).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphApi } from '../../src/graph/graph-api.ts';
import type { GraphResponseEvent } from '../../src/graph/graph-client.ts';
import { createSyncJob } from '../../src/steps/create-sync-job.ts';
import { StepWait, type StepInput } from '../../src/steps/types.ts';
import { fakeDeps, INSTANCE, type FakeGraph } from '../helpers/fake-graph.ts';
import { testPrefix } from '../helpers/redis.ts';
import { eventually, startSimGraph, type SimGraph } from '../helpers/sim-graph.ts';

let sg: SimGraph;
let sim: SimGraph['sim'];
let graph: GraphApi;
const events: GraphResponseEvent[] = [];

beforeAll(async () => {
  sg = await startSimGraph(testPrefix('graph-sim-2nd-job'), events);
  ({ sim, graph } = sg);
});

afterAll(async () => {
  await sg?.close();
});

describe('a second job from the same template (undocumented: a simulator setting)', () => {
  // An earlier create whose job still lags in the list: the step lists nothing and creates.
  async function withLaggingJob(name: string) {
    const [tpl] = await graph.findApplicationTemplatesByName('AWS Single-Account Access');
    const app = await graph.instantiateApplication(tpl!.id, name);
    await eventually(async () => graph.getServicePrincipal(app.servicePrincipalId));
    sim.configure({ replicationLagMs: { min: 1200, max: 1200 } });
    const earlier = await graph.createSynchronizationJob(app.servicePrincipalId, 'aws');
    sim.configure({ replicationLagMs: { min: 0, max: 0 } });
    const { deps } = fakeDeps(graph as unknown as FakeGraph);
    const input: StepInput = {
      instance: { ...INSTANCE, displayName: name, instanceKey: `k-${name}` },
      prev: {
        servicePrincipalId: app.servicePrincipalId,
        applicationObjectId: app.applicationObjectId,
        appId: app.appId,
        adopted: 'existing',
      },
      state: 'creating-job',
    } as unknown as StepInput;
    return { app, earlier, deps, input };
  }

  it('refused with 409: the step waits, then adopts the existing job', async () => {
    sim.configure({ secondJobFromSameTemplate: 'conflict' });
    try {
      const { app, earlier, deps, input } = await withLaggingJob('AWS second job 409');
      const err = await createSyncJob(deps, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StepWait);
      const ids = await eventually(async () => {
        const r = await createSyncJob(deps, input).catch(() => null);
        return r?.jobId ? r : null;
      });
      expect(ids).toMatchObject({ jobId: earlier.id, jobReused: true });
      expect((await graph.listSynchronizationJobs(app.servicePrincipalId)).map((j) => j.id)).toEqual([earlier.id]);
    } finally {
      sim.configure({ secondJobFromSameTemplate: 'accept' });
    }
  });

  it('accepted: the step creates a second job (why the step records its intent before creating)', async () => {
    const { app, earlier, deps, input } = await withLaggingJob('AWS second job accepted');
    const ids = await createSyncJob(deps, input);
    expect(ids.jobId).not.toBe(earlier.id);
    const jobs = await eventually(async () => {
      const list = await graph.listSynchronizationJobs(app.servicePrincipalId);
      return list.length === 2 ? list : null;
    });
    expect(jobs.map((j) => j.id).sort()).toEqual([earlier.id, ids.jobId].sort());
  });
});
