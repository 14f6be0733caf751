/**
 * The steps, their order, the ledger state shown while each runs, and their retry policy —
 * in one place, so no `add` call anywhere decides attempts or backoff on its own.
 */
import type { InstanceState } from '../ledger/ledger.ts';
import { awaitReplication } from '../steps/await-replication.ts';
import { createSyncJob } from '../steps/create-sync-job.ts';
import { instantiateApp } from '../steps/instantiate-app.ts';
import { resolveTemplate } from '../steps/resolve-template.ts';
import { saveSecrets } from '../steps/save-secrets.ts';
import { startJob } from '../steps/start-job.ts';
import type { StepFn, StepName } from '../steps/types.ts';
import { validateCredentials } from '../steps/validate-credentials.ts';

/** A step's wiring: what runs, what the ledger shows meanwhile, and how often a transient failure is retried. */
export interface StepEntry {
  name: StepName;
  run: StepFn;
  runningState: InstanceState;
  /** Transient failures only: throttling and waits do not consume attempts. */
  attempts: number;
  backoffMs: number;
}

export const STEP_REGISTRY: readonly StepEntry[] = [
  { name: 'resolve-template', run: resolveTemplate, runningState: 'resolving-template', attempts: 8, backoffMs: 1000 },
  // Many attempts: each retry first reconciles by query, so retrying is always safe here.
  { name: 'instantiate-app', run: instantiateApp, runningState: 'instantiating', attempts: 12, backoffMs: 1000 },
  { name: 'await-replication', run: awaitReplication, runningState: 'awaiting-replication', attempts: 12, backoffMs: 1000 },
  { name: 'create-sync-job', run: createSyncJob, runningState: 'creating-sync-job', attempts: 12, backoffMs: 1000 },
  { name: 'validate-credentials', run: validateCredentials, runningState: 'validating-credentials', attempts: 8, backoffMs: 1000 },
  { name: 'save-secrets', run: saveSecrets, runningState: 'saving-secrets', attempts: 8, backoffMs: 1000 },
  { name: 'start-job', run: startJob, runningState: 'starting', attempts: 8, backoffMs: 1000 },
];

export const STEP_BY_NAME: ReadonlyMap<string, StepEntry> = new Map(STEP_REGISTRY.map((s) => [s.name, s]));
