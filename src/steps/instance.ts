/**
 * The instance a step works on and the ids steps pass along: each shape is its zod schema, and
 * its type is inferred from it, so what job data is checked against and what steps see cannot drift.
 */
import { z } from 'zod';
import { onboardingShape } from '../batch/onboarding-fields.ts';

/** The instance as stored in job data (no secrets: those are sealed in the ledger). */
export const instanceSpecSchema = z.object({
  batchId: z.string().min(1).max(64),
  instanceKey: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9-]+$/, 'instanceKey must be [a-z0-9-]'),
  displayName: z.string().min(1).max(256),
  applicationTemplate: z
    .object({ id: z.string().optional(), displayName: z.string().optional() })
    .refine((t) => t.id || t.displayName, 'applicationTemplate needs an id or a displayName'),
  synchronizationTemplateId: z.string().nullable(),
  /** What the onboarding steps apply (settings, assignments, schema edits, smoke test); absent: nothing. */
  onboarding: z.object(onboardingShape).optional(),
});
export type InstanceSpec = z.infer<typeof instanceSpecSchema>;

/** Ids accumulated along the chain (small, and safe to show on the board): each step adds its own. */
export const instanceIdsSchema = z.object({
  templateId: z.string().optional(),
  applicationObjectId: z.string().optional(),
  appId: z.string().optional(),
  servicePrincipalId: z.string().optional(),
  /** Epoch ms when Graph created (or provflow adopted) the app: start of the replication window. */
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
  /** Epoch ms when the schema edits were confirmed by read-back. */
  schemaUpdatedAt: z.number().optional(),
  /** App role assignments present for this instance (created or found). */
  assignments: z.number().optional(),
  /** Smoke test result: Success, Skipped or Failure (Graph's words). */
  smokeTest: z.string().optional(),
});
export type InstanceIds = z.infer<typeof instanceIdsSchema>;
