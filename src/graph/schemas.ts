/**
 * zod schemas for the Microsoft Graph (beta) resources provflow reads.
 *
 * Why loose objects: Graph adds fields freely, and Microsoft's own examples disagree
 * (`objectId` in beta vs `id` in v1.0, `201` vs `200` for job creation), so every schema
 * accepts unknown keys and both id spellings; the normalising helpers below give the rest of
 * the code one shape. The simulator's responses are parsed with these same schemas in the
 * contract tests, which is what keeps the two honest.
 */
import { z } from 'zod';

/** `0001-01-01T00:00:00Z` is Graph's "never". */
export const NEVER_DATE = '0001-01-01T00:00:00Z';

const nullableString = z.string().nullish();

export const graphErrorBodySchema = z.looseObject({
  error: z.looseObject({
    code: z.string(),
    message: z.string().nullish(),
    innerError: z.looseObject({}).nullish(),
    innererror: z.looseObject({}).nullish(),
  }),
});

export const applicationTemplateSchema = z.looseObject({
  id: z.string(),
  displayName: z.string(),
  homePageUrl: nullableString,
  logoUrl: nullableString,
  publisher: nullableString,
  description: nullableString,
  categories: z.array(z.string()).nullish(),
  supportedSingleSignOnModes: z.array(z.string()).nullish(),
  supportedProvisioningTypes: z.array(z.string()).nullish(),
});
export type ApplicationTemplate = z.infer<typeof applicationTemplateSchema>;

/** An object that carries its id as `id` (v1.0) or `objectId` (beta example), or both. */
const withObjectId = {
  id: z.string().nullish(),
  objectId: z.string().nullish(),
};

export const applicationSchema = z.looseObject({
  ...withObjectId,
  appId: z.string(),
  applicationTemplateId: nullableString,
  displayName: nullableString,
});
export type Application = z.infer<typeof applicationSchema>;

/** An app role on a service principal (AWS imports its IAM roles as these after the first cycle). */
export const appRoleSchema = z.looseObject({
  id: z.string(),
  value: nullableString,
  displayName: nullableString,
  isEnabled: z.boolean().nullish(),
  allowedMemberTypes: z.array(z.string()).nullish(),
});
export type AppRole = z.infer<typeof appRoleSchema>;

export const servicePrincipalSchema = z.looseObject({
  ...withObjectId,
  // Microsoft's beta instantiate example omits the servicePrincipal's appId (it equals the application's).
  appId: z.string().nullish(),
  appDisplayName: nullableString,
  displayName: nullableString,
  applicationTemplateId: nullableString,
  servicePrincipalNames: z.array(z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
  appRoles: z.array(appRoleSchema).nullish(),
});
export type ServicePrincipal = z.infer<typeof servicePrincipalSchema>;

export const instantiateResponseSchema = z.looseObject({
  application: applicationSchema,
  servicePrincipal: servicePrincipalSchema,
});

/** The id of an application or servicePrincipal, whichever spelling Graph used. */
export function objectIdOf(o: { id?: string | null; objectId?: string | null }): string {
  const id = o.id ?? o.objectId;
  if (!id) throw new Error('Graph object has neither id nor objectId');
  return id;
}

export const keyValueSchema = z.looseObject({ key: z.string(), value: z.string().nullish() });

export const synchronizationTemplateSchema = z.looseObject({
  id: z.string(),
  applicationId: nullableString,
  default: z.boolean().nullish(),
  description: nullableString,
  discoverable: z.boolean().nullish(),
  factoryTag: nullableString,
  metadata: z.array(keyValueSchema).nullish(),
  schema: z.unknown().optional(),
});
export type SynchronizationTemplate = z.infer<typeof synchronizationTemplateSchema>;

const synchronizationErrorSchema = z.looseObject({
  code: nullableString,
  message: nullableString,
  tenantActionable: z.boolean().nullish(),
});

const synchronizationTaskExecutionSchema = z.looseObject({
  activityIdentifier: nullableString,
  countEntitled: z.number().nullish(),
  countEntitledForProvisioning: z.number().nullish(),
  countEscrowed: z.number().nullish(),
  countEscrowedRaw: z.number().nullish(),
  countExported: z.number().nullish(),
  countExports: z.number().nullish(),
  countImported: z.number().nullish(),
  countImportedDeltas: z.number().nullish(),
  countImportedReferenceDeltas: z.number().nullish(),
  error: synchronizationErrorSchema.nullish(),
  state: z.enum(['Succeeded', 'Failed', 'EntryLevelErrors']).nullish().or(z.string().nullish()),
  timeBegan: nullableString,
  timeEnded: nullableString,
});

const synchronizationQuarantineSchema = z.looseObject({
  currentBegan: nullableString,
  nextAttempt: nullableString,
  seriesBegan: nullableString,
  seriesCount: z.number().nullish(),
  // Microsoft's example shows empty strings here: the classifier treats those as absent.
  reason: nullableString,
  error: synchronizationErrorSchema.nullish(),
});

const synchronizationStatusSchema = z.looseObject({
  code: z.string(),
  countSuccessiveCompleteFailures: z.number().nullish(),
  escrowsPruned: z.boolean().nullish(),
  lastExecution: synchronizationTaskExecutionSchema.nullish(),
  lastSuccessfulExecution: synchronizationTaskExecutionSchema.nullish(),
  lastSuccessfulExecutionWithExports: synchronizationTaskExecutionSchema.nullish(),
  progress: z.array(z.looseObject({})).nullish(),
  quarantine: synchronizationQuarantineSchema.nullish(),
  steadyStateFirstAchievedTime: nullableString,
  steadyStateLastAchievedTime: nullableString,
  synchronizedEntryCountByType: z.array(keyValueSchema.or(z.looseObject({}))).nullish(),
  troubleshootingUrl: nullableString,
});

const synchronizationScheduleSchema = z.looseObject({
  expiration: nullableString,
  interval: nullableString,
  state: nullableString,
});

export const synchronizationJobSchema = z.looseObject({
  id: z.string(),
  templateId: z.string(),
  schedule: synchronizationScheduleSchema.nullish(),
  status: synchronizationStatusSchema.nullish(),
  synchronizationJobSettings: z
    .array(z.looseObject({ name: z.string().nullish(), value: z.string().nullish() }))
    .nullish(),
});
export type SynchronizationJob = z.infer<typeof synchronizationJobSchema>;

const statusInfoSchema = z.looseObject({
  status: nullableString,
  errorCode: nullableString,
  reason: nullableString,
  additionalDetails: nullableString,
  errorCategory: nullableString,
  recommendedAction: nullableString,
});

export const provisioningObjectSummarySchema = z.looseObject({
  id: z.string(),
  activityDateTime: z.string(),
  tenantId: nullableString,
  jobId: nullableString,
  cycleId: nullableString,
  changeId: nullableString,
  action: nullableString,
  provisioningAction: nullableString,
  durationInMilliseconds: z.number().nullish(),
  servicePrincipal: z.looseObject({ id: nullableString, displayName: nullableString }).nullish(),
  sourceIdentity: z.looseObject({}).nullish(),
  targetIdentity: z.looseObject({}).nullish(),
  statusInfo: statusInfoSchema.nullish(),
  provisioningStatusInfo: z
    .looseObject({
      status: nullableString,
      errorInformation: statusInfoSchema.nullish(),
    })
    .nullish(),
});
export type ProvisioningObjectSummary = z.infer<typeof provisioningObjectSummarySchema>;

const collections = new WeakMap<z.ZodType, z.ZodType>();

/**
 * A Graph collection page; one schema per item schema, because zod compiles a schema's parser on
 * its first parse, and `listAll` asked for a new one (and a new compile) on every call.
 */
export function collectionSchema<T extends z.ZodType>(item: T) {
  const made = () => z.looseObject({ value: z.array(item), '@odata.nextLink': z.string().nullish() });
  let schema = collections.get(item) as ReturnType<typeof made> | undefined;
  if (!schema) collections.set(item, (schema = made()));
  return schema;
}
