/**
 * The batch file's shape, in zod. Every message says what is wrong and how to fix it, and
 * never repeats the offending value (it may be a credential). Cross-field rules (duplicate
 * names, a template from the instance or the defaults, the batch size) live in
 * validate-batch.ts, which parses each part of the file separately so one broken instance does
 * not hide the problems of the others.
 */
import { z } from 'zod';
import { batchIdProblem } from './batch-id.ts';
import { displayNameProblem, MAX_DISPLAY_NAME_LENGTH } from './display-name.ts';
import { hidden } from './echo-safe.ts';
import { ONBOARDING_FIELDS, onboardingShape } from './onboarding-fields.ts';
import { SYNCHRONIZATION_SECRET_KEYS } from './secret-keys.ts';

/** Default limit on instances per batch (option `maxInstances` of `loadBatchFile`). */
export const DEFAULT_MAX_INSTANCES = 10_000;

/** Application template GUIDs (any case); anything else is a template display name. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Environment variable names a credential may reference. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Synchronization template ids (`aws`, `scim`, `AWSSingleSignOn`…): no '.', which Graph uses inside job ids. */
export const SYNC_TEMPLATE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Field names, used for "did you mean" hints on misspelt fields. */
export const ROOT_FIELDS = ['$schema', 'description', 'batchId', 'defaults', 'instances'] as const;
export const DEFAULTS_FIELDS = [
  'applicationTemplate',
  'synchronizationTemplateId',
  'credentials',
  'expect',
  ...ONBOARDING_FIELDS,
] as const;
export const INSTANCE_FIELDS = ['displayName', ...DEFAULTS_FIELDS] as const;
export const CREDENTIAL_REF_FIELDS = ['value', 'env', 'file'] as const;
export const EXPECTED_OUTCOMES = ['steady', 'started', 'quarantined', 'failed'] as const;

/** "a number", "null", "an array"… — the type of a value, never the value itself. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  return t === 'object' ? 'an object' : t === 'undefined' ? 'missing' : `a ${t}`;
}

/** Error function for a schema's own type check: "is required …" or "must be X, not Y …". */
function typeError(expected: string, fix: string) {
  return (issue: { code?: string; input?: unknown }) => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined
      ? `is required; ${fix}`
      : `must be ${expected}, not ${describeValue(issue.input)}; ${fix}`;
  };
}

/** A check returning a fix-it message or null, as a zod refinement on strings. */
function checked(schema: z.ZodString, problem: (value: string) => string | null) {
  return schema.superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== null) ctx.addIssue({ code: 'custom', message, input: value });
  });
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** `{ "value": "…" } | { "env": "NAME" } | { "file": "./path" }`, exactly one of them. */
export const credentialRefSchema = z
  .strictObject(
    {
      value: z
        .string({ error: typeError('a string', 'write the value in quotes, e.g. {"value": "true"}') })
        .min(1, { error: 'is empty; give the value, or remove this credential' })
        .optional(),
      env: z
        .string({ error: typeError('a string', 'name an environment variable, e.g. {"env": "AWS_SECRET_TOKEN"}') })
        .regex(ENV_NAME_PATTERN, {
          // Often a value pasted in the wrong place: its length only, never its text.
          error: (issue) =>
            `is not a valid environment variable name ${hidden(String(issue.input))}: write the name of a variable ` +
            '(letters, digits and "_", not starting with a digit), e.g. "AWS_SECRET_TOKEN"; ' +
            'a value goes in {"value": "…"} or, better, in that variable',
        })
        .optional(),
      file: z
        .string({ error: typeError('a string', 'give a path, e.g. {"file": "./secrets/aws-token.txt"}') })
        .min(1, { error: 'is empty; give a path, e.g. "./secrets/aws-token.txt" (relative to the batch file)' })
        .optional(),
    },
    {
      error: typeError('an object', 'write {"value": "…"}, {"env": "NAME"} or {"file": "./path"}'),
    },
  )
  .superRefine((ref, ctx) => {
    const set = CREDENTIAL_REF_FIELDS.filter((k) => ref[k] !== undefined);
    if (set.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'says nothing; write {"value": "…"}, {"env": "NAME"} or {"file": "./path"}',
        input: ref,
      });
    } else if (set.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `sets ${set.join(' and ')}; keep exactly one of "value", "env" or "file"`,
        input: ref,
      });
    }
  });

/** A credential reference as written in the file. */
export type CredentialRefInput = z.infer<typeof credentialRefSchema>;

// Credentials are strict objects over the 45 keys, so a misspelt key is reported (with a
// suggestion) instead of being silently sent to Graph, which would ignore or reject it.
const credentialsError = typeError('an object', 'write e.g. "credentials": {"SecretToken": {"env": "AWS_TOKEN"}}');
const defaultsCredentialsSchema = z.strictObject(
  Object.fromEntries(SYNCHRONIZATION_SECRET_KEYS.map((k) => [k, credentialRefSchema.optional()])),
  { error: credentialsError },
);
// An instance may write `"Key": null` to drop a credential it would inherit from the defaults.
const instanceCredentialsSchema = z.strictObject(
  Object.fromEntries(SYNCHRONIZATION_SECRET_KEYS.map((k) => [k, credentialRefSchema.nullable().optional()])),
  { error: credentialsError },
);

const displayNameSchema = checked(
  z.string({
    error: typeError('a string', 'give the instance a name in quotes, e.g. "displayName": "AWS Contoso Prod"'),
  }),
  displayNameProblem,
);

const applicationTemplateSchema = checked(
  z.string({
    error: typeError(
      'a string',
      'give the gallery app name, e.g. "Amazon Web Services (AWS)", or its template id (a GUID)',
    ),
  }),
  (v) => {
    if (v.trim() === '')
      return 'is empty; give the gallery app name, e.g. "Amazon Web Services (AWS)", or its template id (a GUID)';
    if (v.trim() !== v) return 'has leading or trailing spaces; remove them (template names are matched exactly)';
    if (v.length > MAX_DISPLAY_NAME_LENGTH)
      return `is ${v.length} characters long; template names are at most ${MAX_DISPLAY_NAME_LENGTH}`;
    if (CONTROL.test(v)) return 'contains a control character; remove it';
    return null;
  },
);

const syncTemplateIdSchema = z
  .string({
    error: typeError(
      'a string',
      'give the synchronization template id in quotes, e.g. "aws", or leave it out to use the app\'s default',
    ),
  })
  .regex(SYNC_TEMPLATE_ID_PATTERN, {
    error:
      'must be a synchronization template id (1–128 letters, digits, "-" or "_"), e.g. "aws"; leave it out to use the app\'s default',
  });

const expectSchema = z.enum(EXPECTED_OUTCOMES, {
  error: `must be one of ${EXPECTED_OUTCOMES.map((o) => `"${o}"`).join(', ')} (the end state a simulator run should reach)`,
});

/** `batchId` in the file. */
export const batchIdSchema = checked(
  z.string({
    error: typeError('a string', 'e.g. "batchId": "aws-rollout-2026-11", or leave it out to use the file name'),
  }),
  batchIdProblem,
);

/** `defaults`: applied to every instance that does not set the field itself. */
export const defaultsSchema = z.strictObject(
  {
    applicationTemplate: applicationTemplateSchema.optional(),
    synchronizationTemplateId: syncTemplateIdSchema.optional(),
    credentials: defaultsCredentialsSchema.optional(),
    expect: expectSchema.optional(),
    ...onboardingShape,
  },
  { error: typeError('an object', 'e.g. "defaults": {"applicationTemplate": "Amazon Web Services (AWS)"}') },
);

/** Parsed `defaults`. */
export type DefaultsInput = z.infer<typeof defaultsSchema>;

/** One entry of `instances`. */
export const instanceSchema = z.strictObject(
  {
    displayName: displayNameSchema,
    applicationTemplate: applicationTemplateSchema.optional(),
    // null: use the app's default synchronization template even if the defaults name one.
    synchronizationTemplateId: syncTemplateIdSchema.nullable().optional(),
    credentials: instanceCredentialsSchema.optional(),
    expect: expectSchema.optional(),
    ...onboardingShape,
  },
  { error: typeError('an object', 'write each instance as {"displayName": "…", …}') },
);

/** Parsed instance entry. */
export type InstanceInput = z.infer<typeof instanceSchema>;

/**
 * The top level, checked only for its own fields: the parts are parsed one by one (see
 * validate-batch.ts) so every problem in every part is reported.
 */
export const rootSchema = z.strictObject(
  {
    $schema: z.string({ error: typeError('a string', 'give a URL or remove it') }).optional(),
    description: z.string({ error: typeError('a string', 'describe the batch in quotes or remove it') }).optional(),
    batchId: z.unknown().optional(),
    defaults: z.unknown().optional(),
    instances: z.array(z.unknown(), {
      error: typeError('an array', 'write "instances": [{"displayName": "…"}, …]'),
    }),
  },
  { error: typeError('a JSON object', 'a batch file looks like {"defaults": {…}, "instances": [{…}, …]}') },
);
