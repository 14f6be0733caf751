/**
 * Zod schemas of the Graph answers the onboarding steps read: saved secrets, the job schema and
 * its filter operators and functions, groups, app role assignments, app roles and
 * provisionOnDemand. Loose objects: a job schema must survive a read-modify-PUT with every field
 * Graph sent (PUT replaces the whole schema), so unknown fields are kept, never stripped.
 */
import { z } from 'zod';
import { keyValueSchema } from './schemas.ts';

const nullableString = z.string().nullish();

/** `GET …/synchronization/secrets`: `{value: [{key, value}]}`; credential values read back as "*". */
export const secretsResponseSchema = z.looseObject({ value: z.array(keyValueSchema).nullish() });

const attributeMappingSourceSchema: z.ZodType<AttributeMappingSource> = z.lazy(() =>
  z.looseObject({
    expression: nullableString,
    name: nullableString,
    type: nullableString,
    parameters: z
      .array(z.looseObject({ key: nullableString, value: attributeMappingSourceSchema.nullish() }))
      .nullish(),
  }),
);
export interface AttributeMappingSource {
  expression?: string | null;
  name?: string | null;
  type?: string | null;
  parameters?: { key?: string | null; value?: AttributeMappingSource | null }[] | null;
  [k: string]: unknown;
}

export const attributeMappingSchema = z.looseObject({
  targetAttributeName: z.string(),
  source: attributeMappingSourceSchema.nullish(),
  flowType: nullableString,
  matchingPriority: z.number().nullish(),
  defaultValue: nullableString,
});
export type AttributeMapping = z.infer<typeof attributeMappingSchema>;

const filterClauseSchema = z.looseObject({
  operatorName: z.string(),
  sourceOperandName: z.string(),
  targetOperand: z.looseObject({ values: z.array(z.string()).nullish() }).nullish(),
});
export const filterGroupSchema = z.looseObject({
  name: nullableString,
  clauses: z.array(filterClauseSchema).nullish(),
});
export type FilterGroup = z.infer<typeof filterGroupSchema>;
const filterSchema = z.looseObject({
  categoryFilterGroups: z.array(filterGroupSchema).nullish(),
  groups: z.array(filterGroupSchema).nullish(),
  inputFilterGroups: z.array(filterGroupSchema).nullish(),
});

export const objectMappingSchema = z.looseObject({
  name: nullableString,
  enabled: z.boolean().nullish(),
  // A comma-separated set, e.g. "Add, Update, Delete".
  flowTypes: nullableString,
  sourceObjectName: z.string(),
  targetObjectName: nullableString,
  attributeMappings: z.array(attributeMappingSchema).nullish(),
  scope: filterSchema.nullish(),
});
export type ObjectMapping = z.infer<typeof objectMappingSchema>;

const synchronizationRuleSchema = z.looseObject({
  id: z.string(),
  name: nullableString,
  sourceDirectoryName: nullableString,
  targetDirectoryName: nullableString,
  objectMappings: z.array(objectMappingSchema).nullish(),
});

/** `GET …/jobs/{jobId}/schema`. */
export const synchronizationSchemaSchema = z.looseObject({
  id: nullableString,
  version: nullableString,
  synchronizationRules: z.array(synchronizationRuleSchema).nullish(),
  directories: z.array(z.unknown()).nullish(),
});
export type SynchronizationSchema = z.infer<typeof synchronizationSchemaSchema>;

/** One entry of `…/schema/filterOperators`. */
export const filterOperatorSchema = z.looseObject({ name: z.string() });
/** One entry of `…/schema/functions` (attributeMappingFunctionSchema). */
export const mappingFunctionSchema = z.looseObject({
  name: z.string(),
  parameters: z.array(z.looseObject({ name: z.string(), allowMultipleOccurrences: z.boolean().nullish() })).nullish(),
});
export type MappingFunction = z.infer<typeof mappingFunctionSchema>;

export const groupSchema = z.looseObject({ id: z.string(), displayName: nullableString });
export type Group = z.infer<typeof groupSchema>;

export type { AppRole } from './schemas.ts';

export const appRoleAssignmentSchema = z.looseObject({
  id: nullableString,
  appRoleId: z.string(),
  principalId: z.string(),
  principalType: nullableString,
  principalDisplayName: nullableString,
  resourceId: nullableString,
});
export type AppRoleAssignment = z.infer<typeof appRoleAssignmentSchema>;

/** provisionOnDemand: a stringKeyStringValuePair whose key and value are JSON inside strings. */
export const provisionOnDemandResponseSchema = z.looseObject({ key: nullableString, value: nullableString });
export type ProvisionOnDemandResponse = z.infer<typeof provisionOnDemandResponseSchema>;
