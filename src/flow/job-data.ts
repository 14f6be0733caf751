/**
 * Job payload schemas. Every payload is `unknown` until one of these accepts it: jobs in Redis
 * outlive deploys, and a malformed job (poison input) must fail alone with a clear reason.
 */
import { z } from 'zod';
import { instanceSpecSchema } from '../steps/instance.ts';

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
