/**
 * The step list: the order of an instance's steps, and everything derived from it — the step
 * names, the ledger states shown while steps run, and each instance's steps (those that apply to
 * it) and root step (the last of those, which BullMQ completes after all others). To add a step,
 * write its file and add one line here.
 */
import { assignGroupsStep } from './assign-groups.ts';
import { awaitReplicationStep } from './await-replication.ts';
import { createSyncJobStep } from './create-sync-job.ts';
import { instantiateAppStep } from './instantiate-app.ts';
import { resolveTemplateStep } from './resolve-template.ts';
import { saveSecretsStep } from './save-secrets.ts';
import { smokeTestStep } from './smoke-test.ts';
import { startJobStep } from './start-job.ts';
import type { InstanceSpec, StepDeclaration } from './types.ts';
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
  smokeTestStep, // the root when it applies: the root hands over to the poller
] as const;

/** Step names, which are also BullMQ job names and the last part of job ids. */
export type StepName = (typeof STEPS)[number]['name'];
/** The ledger states shown while a step runs. */
export type RunningState = (typeof STEPS)[number]['runningState'];
export type Step = StepDeclaration<StepName, RunningState>;

export const RUNNING_STATES: readonly RunningState[] = STEPS.map((s) => s.runningState);
/**
 * The last step of the list: the root of a flow that has every step — an instance using every
 * onboarding field, and every flow built before steps that do not apply were left out.
 */
export const ROOT_STEP: StepName = STEPS[STEPS.length - 1]!.name;

/** The steps of one instance's flow, in order: those that apply to it (ADR: leaving out idle steps). */
export function stepsFor(instance: InstanceSpec): Step[] {
  return STEPS.filter((s: Step) => s.appliesTo?.(instance) ?? true);
}

/**
 * The root of one instance's flow (its last applying step): present from the flow's MULTI until the
 * whole flow is done. At least start-job: only onboarding steps after it can be left out.
 */
export function rootStepOf(instance: InstanceSpec): StepName {
  return stepsFor(instance).at(-1)!.name;
}
export const STEP_BY_NAME: ReadonlyMap<string, Step> = new Map(STEPS.map((s) => [s.name, s]));
