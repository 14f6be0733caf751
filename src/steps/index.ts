/**
 * The step list: the order of an instance's steps, and everything derived from it — the step
 * names, the ledger states shown while steps run, and the root step (the last one, which BullMQ
 * completes after all others). To add a step, write its file and add one line here.
 */
import { assignGroupsStep } from './assign-groups.ts';
import { awaitReplicationStep } from './await-replication.ts';
import { createSyncJobStep } from './create-sync-job.ts';
import { instantiateAppStep } from './instantiate-app.ts';
import { resolveTemplateStep } from './resolve-template.ts';
import { saveSecretsStep } from './save-secrets.ts';
import { smokeTestStep } from './smoke-test.ts';
import { startJobStep } from './start-job.ts';
import type { StepDeclaration } from './types.ts';
import { updateSchemaStep } from './update-schema.ts';
import { validateCredentialsStep } from './validate-credentials.ts';

export const STEPS = [
  resolveTemplateStep,
  instantiateAppStep,
  awaitReplicationStep,
  createSyncJobStep,
  validateCredentialsStep,
  saveSecretsStep, // credentials + settings: one complete PUT
  updateSchemaStep, // before start: the first cycle already maps and scopes as asked
  startJobStep,
  assignGroupsStep, // after start: AWS imports its roles in the first cycle
  smokeTestStep, // the root: hands over to the poller
] as const;

/** Step names, which are also BullMQ job names and the last part of job ids. */
export type StepName = (typeof STEPS)[number]['name'];
/** The ledger states shown while a step runs. */
export type RunningState = (typeof STEPS)[number]['runningState'];
export type Step = StepDeclaration<StepName, RunningState>;

export const RUNNING_STATES: readonly RunningState[] = STEPS.map((s) => s.runningState);
/** The flow's root: present from the flow's MULTI until the whole flow is done; it hands over to the poller. */
export const ROOT_STEP: StepName = STEPS[STEPS.length - 1]!.name;
export const STEP_BY_NAME: ReadonlyMap<string, Step> = new Map(STEPS.map((s) => [s.name, s]));
