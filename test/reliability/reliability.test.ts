/**
 * The reliability suite's short form, run by `npm test` on every submission: each scenario
 * with a small batch and a few disruptions must end with nothing lost, nothing duplicated, no
 * Retry-After violation, and every instance in the end state its credentials imply.
 * The long form (`npm run chaos`) and its figures are in test/RELIABILITY.md.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from './scenarios.ts';
import { reliabilityTable } from './table.ts';

const SEED = Number(process.env.PROVFLOW_CHAOS_SEED ?? 7);

describe.sequential('reliability (short form)', () => {
  for (const [name, size] of [
    ['kill-worker', { instances: 24, disruptions: 3 }],
    ['kill-poller', { instances: 16, disruptions: 3 }],
    ['restart-redis', { instances: 20, disruptions: 2 }],
    ['chaos-profile', { instances: 20, disruptions: 0 }],
    ['tight-quota', { instances: 16, disruptions: 0 }],
    ['sigterm-busy', { instances: 16, disruptions: 2 }],
    ['poison', { instances: 10, disruptions: 0 }],
  ] as const) {
    it(`${name}: nothing lost, nothing duplicated, no early retry (seed ${SEED})`, async () => {
      const r = await SCENARIOS[name]!({ ...size, seed: SEED });
      const table = reliabilityTable([r]);
      expect(r.instances, table).toBe(size.instances);
      expect(r.lost, table).toBe(0);
      expect(r.unexpected, table).toBe(0);
      expect(r.duplicateApplications, table).toBe(0);
      expect(r.retryAfterViolations, table).toBe(0);
      if (name === 'poison') {
        expect(r.notes).toMatch(/poison-garbage: malformed job data/);
        expect(r.notes).toMatch(/poison-unknown-step: unknown step 'drop-tables'/);
        expect(r.notes).toMatch(/poison-wrong-version: malformed job data.*v/);
        expect(r.notes).toMatch(/poison-watch: malformed watch job data/);
      }
      if (name === 'sigterm-busy')
        expect(r.notes).toBe(
          `active jobs left: 0; exit codes after SIGTERM: ${Array(size.disruptions).fill(0).join(',')}`,
        );
    }, 200_000);
  }
});
