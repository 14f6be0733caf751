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
import { ROOT_STEP, RUNNING_STATES, STEP_BY_NAME, STEPS } from '../../src/steps/index.ts';
import { INSTANCE } from '../helpers/fake-graph.ts';

describe('step list', () => {
  it('names each step and running state once, apart from the other instance states', () => {
    expect(new Set(STEPS.map((s) => s.name)).size).toBe(STEPS.length);
    expect(new Set(RUNNING_STATES).size).toBe(STEPS.length);
    const others: string[] = [QUEUED, STARTED, ...PAST_PIPELINE_STATES];
    expect(RUNNING_STATES.filter((s) => others.includes(s))).toEqual([]);
    expect(STEP_BY_NAME.get(ROOT_STEP)).toBe(STEPS.at(-1));
  });

  it('builds the flow from the list: the root step on top, each job retried as its step declares', () => {
    const chain: FlowJob[] = [];
    for (let job: FlowJob | undefined = buildInstanceFlow(INSTANCE); job; job = job.children?.[0]) chain.push(job);
    expect(chain.map((j) => j.name)).toEqual(STEPS.map((s) => s.name).reverse());
    expect(chain[0]!.name).toBe(ROOT_STEP);
    for (const job of chain) {
      const step = STEP_BY_NAME.get(job.name)!;
      const { attempts, backoffMs } = step.retry;
      expect(job.opts).toMatchObject({ attempts, backoff: { type: 'exponential', delay: backoffMs } });
    }
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
