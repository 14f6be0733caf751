/** The step list is the one source of step names, running states, the root step and step retry. */
import { describe, expect, it } from 'vitest';
import type { FlowJob } from 'bullmq';
import { buildInstanceFlow } from '../../src/flow/build-flow.ts';
import {
  END_STATES,
  LEDGER_STATE,
  PAST_PIPELINE_STATES,
  QUEUED,
  REMOVED,
  STARTED,
  STARTED_STATES,
  TEARING_DOWN,
} from '../../src/ledger/instance-state.ts';
import { ROOT_STEP, rootStepOf, RUNNING_STATES, STEP_BY_NAME, STEPS, stepsFor } from '../../src/steps/index.ts';
import type { InstanceSpec } from '../../src/steps/instance.ts';
import { INSTANCE } from '../helpers/fake-graph.ts';

/** An instance that uses every onboarding field, so every step applies. */
const FULL: InstanceSpec = {
  ...INSTANCE,
  onboarding: {
    settings: { notificationEmail: 'ops@contoso.example' },
    assignments: [{ group: 'AWS Admins' }],
    schema: { User: { enabled: true } },
    smokeTest: { subject: '11111111-1111-1111-1111-111111111111' },
  },
};

const chainOf = (instance: InstanceSpec): FlowJob[] => {
  const chain: FlowJob[] = [];
  for (let job: FlowJob | undefined = buildInstanceFlow(instance); job; job = job.children?.[0]) chain.push(job);
  return chain;
};

describe('step list', () => {
  it('names each step and running state once, apart from the other instance states', () => {
    expect(new Set(STEPS.map((s) => s.name)).size).toBe(STEPS.length);
    expect(new Set(RUNNING_STATES).size).toBe(STEPS.length);
    const others: string[] = [QUEUED, STARTED, ...PAST_PIPELINE_STATES];
    expect(RUNNING_STATES.filter((s) => others.includes(s))).toEqual([]);
    expect(STEP_BY_NAME.get(ROOT_STEP)).toBe(STEPS.at(-1));
  });

  it('builds the flow from the list: the root step on top, each job retried as its step declares', () => {
    const chain = chainOf(FULL);
    expect(chain.map((j) => j.name)).toEqual(STEPS.map((s) => s.name).reverse());
    expect(chain[0]!.name).toBe(ROOT_STEP);
    expect(rootStepOf(FULL)).toBe(ROOT_STEP);
    for (const job of chain) {
      const step = STEP_BY_NAME.get(job.name)!;
      const { attempts, backoffMs } = step.retry;
      expect(job.opts).toMatchObject({ attempts, backoff: { type: 'exponential', delay: backoffMs } });
    }
  });

  it('leaves out the steps with nothing to do: without onboarding fields the flow ends at start-job', () => {
    const chain = chainOf(INSTANCE);
    expect(chain.map((j) => j.name).reverse()).toEqual([
      'resolve-template',
      'instantiate-app',
      'await-replication',
      'create-sync-job',
      'validate-credentials',
      'save-secrets',
      'start-job',
    ]);
    expect(rootStepOf(INSTANCE)).toBe('start-job');
    // Each job keeps its id and its priority from its place in the whole list.
    const full = new Map(chainOf(FULL).map((j) => [j.name, j.opts]));
    for (const job of chain) expect(job.opts).toEqual(full.get(job.name));
  });

  it('keeps each onboarding step exactly for the instances that ask for it', () => {
    const settingsOnly = { ...INSTANCE, onboarding: { settings: { notificationEmail: 'ops@contoso.example' } } };
    expect(stepsFor(settingsOnly).map((s) => s.name)).toEqual(stepsFor(INSTANCE).map((s) => s.name));
    const schema = { ...INSTANCE, onboarding: { schema: { User: { enabled: true } } } };
    expect(stepsFor(schema).map((s) => s.name)).toContain('update-schema');
    expect(rootStepOf(schema)).toBe('start-job');
    const emptySchema = { ...INSTANCE, onboarding: { schema: {}, assignments: [] } };
    expect(stepsFor(emptySchema)).toEqual(stepsFor(INSTANCE));
    expect(rootStepOf({ ...INSTANCE, onboarding: { assignments: [{ group: 'AWS Admins' }] } })).toBe('assign-groups');
    expect(rootStepOf({ ...INSTANCE, onboarding: { smokeTest: { subject: 'u1' } } })).toBe('smoke-test');
  });

  it('ends and "started" are states of the one state machine', () => {
    for (const s of END_STATES) expect(PAST_PIPELINE_STATES).toContain(s);
    const watchStates = Object.values(LEDGER_STATE).filter((s) => s !== 'failed');
    expect([...STARTED_STATES].sort()).toEqual([STARTED, ...watchStates].sort());
    // Teardown's states are past the pipeline (no step may overwrite them) but not "started".
    for (const s of [TEARING_DOWN, REMOVED]) {
      expect(PAST_PIPELINE_STATES).toContain(s);
      expect(STARTED_STATES.has(s)).toBe(false);
    }
  });
});
