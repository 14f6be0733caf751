/**
 * Job payload schemas. Every payload is `unknown` until one of these accepts it: jobs in Redis
 * outlive deploys, and a malformed job (poison input) must fail alone with a clear reason.
 */
import { z } from 'zod';
import { instanceSpecSchema } from '../steps/instance.ts';
import { OP_NAMES } from '../steps/ops/index.ts';

/** Data of every job in the steps queue. `v` lets a future deploy recognise old payloads. */
export const stepJobDataSchema = z.object({
  v: z.literal(1),
  instance: instanceSpecSchema,
  /** A step's own state across waits (replication counters, reconcile flags). */
  state: z.record(z.string(), z.unknown()).optional(),
});
export type StepJobData = z.infer<typeof stepJobDataSchema>;

/** Data of a poller watch job. */
export const watchJobDataSchema = z.object({
  v: z.literal(1),
  instance: instanceSpecSchema,
  servicePrincipalId: z.string().min(1),
  jobId: z.string().min(1),
  startedAt: z.number(),
  /** Poll bookkeeping, persisted with updateData so a restarted poller resumes. */
  state: z
    .object({
      unchangedPolls: z.number().default(0),
      lastState: z.string().nullable().default(null),
      fingerprint: z.string().optional(),
      deadlineAt: z.number().optional(),
      logNextLink: z.string().nullable().optional(),
      logSince: z.string().nullable().optional(),
      logPagesRead: z.number().optional(),
      logSummary: z.unknown().optional(),
      finalState: z.string().optional(),
      notified: z.string().optional(),
      /** The delay chosen after the last poll, and the rule that chose it (operators and the benchmark read them). */
      lastDelayMs: z.number().optional(),
      delayReason: z.string().optional(),
    })
    .partial()
    .optional(),
});
export type WatchJobData = z.infer<typeof watchJobDataSchema>;

/** Data of a day-two operation job (ops queue). Credentials are never here: rotate seals them in the ledger. */
export const opJobDataSchema = z.object({
  v: z.literal(1),
  op: z.enum(OP_NAMES as [string, ...string[]]),
  instance: instanceSpecSchema,
  /** One run of the command (rotate, teardown…): part of the job id, and the mark a re-run looks for. */
  runId: z.string().regex(/^[a-z0-9-]{1,40}$/),
  options: z.object({ purge: z.boolean().optional() }).optional(),
  /** Steps completed so far (checkpoint), and the running step's state across waits. */
  done: z.array(z.string()).optional(),
  state: z.record(z.string(), z.unknown()).optional(),
});
export type OpJobData = z.infer<typeof opJobDataSchema>;
