/**
 * The onboarding fields of a batch file — `settings`, `assignments`, `schema`, `smokeTest` — in
 * zod. They are allowed in `defaults` and per instance (an instance's field replaces the
 * default's as a whole). Each object is strict so a misspelt field is reported with a
 * suggestion (see `onboardingKnownFields`), and messages never repeat a value.
 */
import { z } from 'zod';

const SETTINGS_FIELDS = [
  'scope',
  'deletionThreshold',
  'notificationEmail',
  'notifyOnFailure',
  'skipOutOfScopeDeletions',
] as const;
const ASSIGNMENT_FIELDS = ['group', 'role'] as const;
const SCHEMA_OBJECT_FIELDS = ['enabled', 'flowTypes', 'matchingAttribute', 'mappings', 'scopingFilter'] as const;
const MAPPING_FIELDS = ['source', 'expression', 'constant', 'flowType', 'defaultValue'] as const;
const SCOPING_FILTER_FIELDS = ['mode', 'groups'] as const;
const FILTER_GROUP_FIELDS = ['name', 'clauses'] as const;
const CLAUSE_FIELDS = ['attribute', 'operator', 'values'] as const;
const SMOKE_TEST_FIELDS = ['subject', 'type', 'members'] as const;
export const ONBOARDING_FIELDS = ['settings', 'assignments', 'schema', 'smokeTest'] as const;

const FLOW_TYPES = ['Add', 'Update', 'Delete'] as const;
/** attributeMapping.flowType values Graph documents. */
const MAPPING_FLOW_TYPES = ['Always', 'ObjectAddOnly', 'MultiValueAddOnly', 'ValueAddOnly', 'AttributeAddOnly'];

const text = (what: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? `is required; ${what}` : `must be a string; ${what}`) })
    .min(1, { error: `is empty; ${what}` })
    .max(1024, { error: 'is longer than 1,024 characters' });

const THRESHOLD = 'must be a whole number of deletions (1 or more) that pauses the job, or false to turn it off';
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const settingsSchema = z.strictObject(
  {
    scope: z
      .enum(['assigned', 'all'], {
        error: 'must be "assigned" (sync only assigned users and groups) or "all" (sync all users and groups)',
      })
      .optional(),
    deletionThreshold: z
      .union(
        [
          z.number().int({ error: THRESHOLD }).min(1, { error: THRESHOLD }).max(1_000_000, { error: THRESHOLD }),
          z.literal(false),
        ],
        { error: THRESHOLD },
      )
      .optional(),
    notificationEmail: z
      .string({ error: 'must be an email address in quotes, e.g. "idm-team@contoso.com"' })
      .regex(EMAIL, { error: 'is not an email address; write e.g. "idm-team@contoso.com"' })
      .optional(),
    notifyOnFailure: z.boolean({ error: 'must be true or false' }).optional(),
    skipOutOfScopeDeletions: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: 'must be an object, e.g. "settings": {"scope": "assigned", "deletionThreshold": 500}' },
);
export type SettingsInput = z.infer<typeof settingsSchema>;

export const assignmentSchema = z.strictObject(
  {
    group: text('give the group object id or its display name'),
    role: text('give the app role value, its display name, or "default"').optional(),
  },
  { error: 'must be an object, e.g. {"group": "AWS Admins", "role": "Admin"}' },
);
export type AssignmentInput = z.infer<typeof assignmentSchema>;
const assignmentsSchema = z
  .array(assignmentSchema, { error: 'must be an array, e.g. "assignments": [{"group": "AWS Admins"}]' })
  .max(100, { error: 'has more than 100 assignments; assign fewer groups per instance' });

const clauseSchema = z.strictObject(
  {
    attribute: text('name the source attribute, e.g. "department"'),
    operator: text('name a filter operator, e.g. "EQUALS" (Graph lists them in …/schema/filterOperators)'),
    values: z
      .array(z.string(), { error: 'must be an array of strings, e.g. ["Sales"]' })
      .max(100, { error: 'has more than 100 values' })
      .optional(),
  },
  { error: 'must be an object, e.g. {"attribute": "department", "operator": "EQUALS", "values": ["Sales"]}' },
);
const filterGroupSchema = z.strictObject(
  {
    name: text('give the scoping-filter group a name'),
    clauses: z.array(clauseSchema, { error: 'must be an array of clauses' }).min(1, { error: 'is empty' }),
  },
  { error: 'must be an object, e.g. {"name": "Sales only", "clauses": [ … ]}' },
);
const scopingFilterSchema = z.strictObject(
  {
    mode: z
      .enum(['add', 'replace'], {
        error: 'must be "add" (add or replace these groups by name) or "replace" (these groups only)',
      })
      .optional(),
    groups: z.array(filterGroupSchema, { error: 'must be an array of scoping-filter groups' }),
  },
  { error: 'must be an object, e.g. {"groups": [{"name": "Sales only", "clauses": [ … ]}]}' },
);

const mappingSchema = z
  .strictObject(
    {
      source: text('name the source attribute, e.g. "jobTitle"').optional(),
      expression: text('write an expression, e.g. "ToUpper([department])"').optional(),
      constant: z.string({ error: 'must be a string' }).optional(),
      flowType: z
        .enum(MAPPING_FLOW_TYPES as [string, ...string[]], {
          error: `must be one of ${MAPPING_FLOW_TYPES.map((f) => `"${f}"`).join(', ')}`,
        })
        .optional(),
      defaultValue: z.string({ error: 'must be a string' }).optional(),
    },
    { error: 'must be an object such as {"source": "jobTitle"}, or null to remove the mapping' },
  )
  .superRefine((m, ctx) => {
    const set = (['source', 'expression', 'constant'] as const).filter((k) => m[k] !== undefined);
    if (set.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message:
          `sets ${set.length ? set.join(' and ') : 'no source'}; ` +
          'give exactly one of "source", "expression" or "constant"',
      });
  });

const schemaObjectSchema = z.strictObject(
  {
    enabled: z.boolean({ error: 'must be true or false' }).optional(),
    flowTypes: z
      .array(z.enum(FLOW_TYPES, { error: 'must be "Add", "Update" or "Delete"' }), {
        error: 'must be an array, e.g. ["Add", "Update"]',
      })
      .optional(),
    matchingAttribute: text('name the target attribute users are matched on, e.g. "userName"').optional(),
    // Keyed by target attribute; null removes that mapping.
    mappings: z
      .record(z.string().min(1), mappingSchema.nullable(), { error: 'must be an object keyed by target attribute' })
      .optional(),
    scopingFilter: scopingFilterSchema.optional(),
  },
  { error: 'must be an object, e.g. {"matchingAttribute": "userName"}' },
);

/** Edits keyed by the object mapping's source object name ("User", "Group"). */
export const schemaEditsSchema = z.record(z.string().min(1).max(128), schemaObjectSchema, {
  error: 'must be an object keyed by source object, e.g. "schema": {"User": {"mappings": { … }}}',
});
export type SchemaEditsInput = z.infer<typeof schemaEditsSchema>;

export const smokeTestSchema = z.strictObject(
  {
    subject: z
      .string({ error: 'must be the object id (a GUID) of a user or group in quotes' })
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
        error: 'must be an object id (a GUID) of a user or group',
      }),
    type: z.enum(['User', 'Group'], { error: 'must be "User" or "Group"' }).optional(),
    members: z
      .array(z.string().regex(/^[0-9a-f-]{36}$/i, { error: 'must be user object ids (GUIDs)' }), {
        error: 'must be an array of user object ids',
      })
      .max(5, { error: 'lists more than 5 members; Graph provisions at most 5 group members on demand' })
      .optional(),
  },
  { error: 'must be an object, e.g. "smokeTest": {"subject": "<user object id>", "type": "User"}' },
);
export type SmokeTestInput = z.infer<typeof smokeTestSchema>;

/** The zod shape spread into `defaults` and into each instance. */
export const onboardingShape = {
  settings: settingsSchema.optional(),
  assignments: assignmentsSchema.optional(),
  schema: schemaEditsSchema.optional(),
  smokeTest: smokeTestSchema.optional(),
};

/** What an instance asks for after defaults are applied (each field from the instance, else the defaults). */
export interface OnboardingInput {
  settings?: SettingsInput;
  assignments?: AssignmentInput[];
  schema?: SchemaEditsInput;
  smokeTest?: SmokeTestInput;
}

export function mergeOnboarding(defaults: OnboardingInput, own: OnboardingInput): OnboardingInput | null {
  const out: OnboardingInput = {};
  for (const k of ONBOARDING_FIELDS) {
    const v = own[k] ?? defaults[k];
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return Object.keys(out).length ? out : null;
}

/**
 * Field names valid inside an onboarding field at `path` (relative to the instance or
 * defaults), for "did you mean" hints; null when `path` is not inside one.
 */
export function onboardingKnownFields(path: readonly (string | number)[]): readonly string[] | null {
  const [head, a, b, c, d, e] = path;
  if (head === 'settings' && path.length === 1) return SETTINGS_FIELDS;
  if (head === 'smokeTest' && path.length === 1) return SMOKE_TEST_FIELDS;
  if (head === 'assignments' && path.length === 2) return ASSIGNMENT_FIELDS;
  if (head !== 'schema' || a === undefined) return null;
  if (path.length === 2) return SCHEMA_OBJECT_FIELDS;
  if (b === 'mappings' && path.length === 4) return MAPPING_FIELDS;
  if (b !== 'scopingFilter') return null;
  if (path.length === 3) return SCOPING_FILTER_FIELDS;
  if (c === 'groups' && path.length === 5 && d !== undefined) return FILTER_GROUP_FIELDS;
  if (c === 'groups' && path.length === 7 && e === 'clauses') return CLAUSE_FIELDS;
  return null;
}

/** The synchronizationSecret key each setting compiles to (src/onboarding/settings.ts). */
const SETTING_KEYS: Record<keyof SettingsInput, string> = {
  scope: 'SyncAll',
  deletionThreshold: 'SyncNotificationSettings',
  notificationEmail: 'SyncNotificationSettings',
  notifyOnFailure: 'SyncNotificationSettings',
  skipOutOfScopeDeletions: 'SkipOutOfScopeDeletions',
};

/**
 * A setting and a credential naming the same secret key: one would silently replace the other
 * in the single secrets PUT, so the file must say it once. Returns [setting, key] pairs.
 */
export function settingCredentialClashes(
  settings: SettingsInput | undefined,
  credentialKeys: readonly string[],
): [string, string][] {
  if (!settings) return [];
  const keys = new Set(credentialKeys);
  return (Object.keys(settings) as (keyof SettingsInput)[])
    .filter((k) => settings[k] !== undefined && keys.has(SETTING_KEYS[k]))
    .map((k) => [k, SETTING_KEYS[k]]);
}
