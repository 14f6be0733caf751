/**
 * Job payload schemas. Every payload is `unknown` until one of these accepts it: jobs in Redis
 * outlive deploys, and a malformed job (poison input) must fail alone with a clear reason.
 */
import { z } from 'zod';

export const instanceSpecSchema = z.object({
  batchId: z.string().min(1).max(64),
  instanceKey: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'instanceKey must be [a-z0-9-]'),
  displayName: z.string().min(1).max(256),
  applicationTemplate: z
    .object({ id: z.string().optional(), displayName: z.string().optional() })
    .refine((t) => t.id || t.displayName, 'applicationTemplate needs an id or a displayName'),
  synchronizationTemplateId: z.string().nullable(),
});

/** Data of every job in the steps queue. `v` lets a future deploy recognise old payloads. */
export const stepJobDataSchema = z.object({
  v: z.literal(1),
  instance: instanceSpecSchema,
  /** A step's own state across waits (replication counters, reconcile flags). */
  state: z.record(z.string(), z.unknown()).optional(),
});
export type StepJobData = z.infer<typeof stepJobDataSchema>;

/** What steps return (ids only: small, and safe to show on the board). */
export const instanceIdsSchema = z.object({
  templateId: z.string().optional(),
  applicationObjectId: z.string().optional(),
  appId: z.string().optional(),
  servicePrincipalId: z.string().optional(),
  createdAt: z.number().optional(),
  adopted: z.enum(['created', 'recovered', 'existing']).optional(),
  replicatedAt: z.number().optional(),
  jobId: z.string().optional(),
  syncTemplateId: z.string().optional(),
  jobReused: z.boolean().optional(),
  credentialsValidated: z.boolean().optional(),
  secretsSaved: z.boolean().optional(),
  startedAt: z.number().optional(),
  alreadyRunning: z.boolean().optional(),
});

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

/** Turns a zod failure into one line naming the fields, for the job's failedReason. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
