/**
 * The day-two operations and their steps, in order. Each operation runs as one durable job in the
 * ops queue (src/ops/op-processor.ts) that checkpoints after every step; to add a step, write it
 * with `defineStep` and add it to its operation's list here.
 */
import type { StepDeclaration } from '../types.ts';
import { restartIfQuarantinedStep, saveRotationStep, validateRotationStep } from './rotate.ts';
import { deleteApplicationStep, deleteJobStep, pauseJobStep, purgeApplicationStep } from './teardown.ts';
import { verifyCredentialsStep } from './verify.ts';

export const OPERATIONS = {
  rotate: [validateRotationStep, saveRotationStep, restartIfQuarantinedStep],
  verify: [verifyCredentialsStep],
  teardown: [pauseJobStep, deleteJobStep, deleteApplicationStep, purgeApplicationStep],
} as const satisfies Record<string, readonly StepDeclaration[]>;

export type OpName = keyof typeof OPERATIONS;
export const OP_NAMES = Object.keys(OPERATIONS) as OpName[];
