/**
 * Checks a parsed batch document (from JSON, or built from CSV rows) and plans its instances:
 * defaults applied, credential references merged key by key, not yet resolved. Each part of
 * the document is parsed on its own so that every problem is found in one pass, and the
 * cross-instance rules (duplicate names, batch size) run on whatever parsed.
 */
import {
  CREDENTIAL_REF_FIELDS,
  type CredentialRefInput,
  DEFAULTS_FIELDS,
  type DefaultsInput,
  defaultsSchema,
  describeValue,
  GUID_PATTERN,
  INSTANCE_FIELDS,
  instanceSchema,
  ROOT_FIELDS,
  rootSchema,
  batchIdSchema,
} from './batch-schema.ts';
import type { ExpectedOutcome, TemplateRef } from './batch-types.ts';
import { displayNameCompareKey, displayNameLookAlikeKey, displayNameProblem, lookAlikeHint } from './display-name.ts';
import { instanceKeyOf } from './instance-key.ts';
import {
  mergeOnboarding,
  onboardingKnownFields,
  settingCredentialClashes,
  type OnboardingInput,
} from './onboarding-fields.ts';
import type { PathSegment } from './problem-path.ts';
import { salvage } from './salvage.ts';
import { didYouMean } from './edit-distance.ts';
import { DEFAULT_TENANT, TENANT_NAME_PATTERN } from '../redis-keys.ts';
import { issuesToProblems, type KnownFields, type RawProblem } from './zod-problems.ts';

/** A credential to resolve: its key, reference and where the reference is written. */
export interface PlannedCredential {
  key: string;
  ref: CredentialRefInput;
  /** Path of the reference (`defaults.credentials.X` or `instances[i].credentials.X`). */
  origin: PathSegment[];
}

/** An instance with defaults applied, before credential references are resolved. */
export interface PlannedInstance {
  index: number;
  instanceKey: string;
  displayName: string;
  applicationTemplate: TemplateRef;
  synchronizationTemplateId: string | null;
  expect: ExpectedOutcome | null;
  tenant: string;
  credentials: PlannedCredential[];
  /** settings / assignments / schema / smokeTest, defaults applied; null when none. */
  onboarding: OnboardingInput | null;
}

/** Options of `validateBatchDocument`. */
export interface ValidateOptions {
  maxInstances: number;
  /** Words messages in terms of the file format the user wrote (CSV has no `defaults`). */
  format: 'json' | 'csv';
  /** Tenant names a batch may use (the tenants file's); default: `default` only. */
  tenants?: readonly string[];
  /** A rotate file: credentials only, no application template (the batch already has one). */
  credentialsOnly?: boolean;
}

/** Problems found, the batch id written in the document (if valid) and the planned instances. */
export interface ValidationOutcome {
  problems: RawProblem[];
  batchId: string | null;
  instances: PlannedInstance[];
}

const knownIn =
  (base: readonly string[]): KnownFields =>
  (path) =>
    path.length === 0
      ? base
      : path[0] === 'credentials' && path.length === 2
        ? CREDENTIAL_REF_FIELDS
        : (onboardingKnownFields(path) ?? []);

/** push(...items) overflows the stack past ~120,000 items (an object with that many unknown fields). */
function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates `doc` and plans its instances. Never throws on bad input. */
export function validateBatchDocument(doc: unknown, options: ValidateOptions): ValidationOutcome {
  const problems: RawProblem[] = [];
  const outcome: ValidationOutcome = { problems, batchId: null, instances: [] };

  if (!isPlainObject(doc)) {
    problems.push({
      path: [],
      message: Array.isArray(doc)
        ? 'the file holds a JSON array; a batch file is an object: wrap the list as {"instances": [ … ]}'
        : `the file holds ${describeValue(doc)}; ` +
          'a batch file is a JSON object such as {"defaults": {…}, "instances": [{…}, …]}',
    });
    return outcome;
  }

  const root = rootSchema.safeParse(doc);
  if (!root.success) pushAll(problems, issuesToProblems(root.error.issues, [], knownIn(ROOT_FIELDS)));

  if (doc.batchId !== undefined) {
    const id = batchIdSchema.safeParse(doc.batchId);
    if (id.success) outcome.batchId = id.data;
    else pushAll(problems, issuesToProblems(id.error.issues, ['batchId'], knownIn([])));
  }

  let defaults: DefaultsInput = {};
  // When the defaults are broken we cannot tell which instances lack a template: stay quiet
  // about that rather than blame every instance for a problem already reported once.
  let defaultsTemplateUnknown = false;
  // Likewise for credentials: a broken defaults.credentials says nothing about which instances have none.
  let defaultsCredentialsUnknown = false;
  if (doc.defaults !== undefined) {
    const parsed = defaultsSchema.safeParse(doc.defaults);
    if (parsed.success) defaults = parsed.data;
    else {
      pushAll(problems, issuesToProblems(parsed.error.issues, ['defaults'], knownIn(DEFAULTS_FIELDS)));
      defaults = salvage(defaultsSchema, doc.defaults, parsed.error.issues) ?? {};
      defaultsTemplateUnknown =
        defaults.applicationTemplate === undefined &&
        isPlainObject(doc.defaults) &&
        doc.defaults.applicationTemplate !== undefined;
      defaultsCredentialsUnknown = parsed.error.issues.some((i) => i.path[0] === 'credentials');
    }
  }

  const tenants = options.tenants ?? [DEFAULT_TENANT];
  if (defaults.tenant !== undefined && !tenants.includes(defaults.tenant))
    problems.push({ path: ['defaults', 'tenant'], message: unknownTenantMessage(defaults.tenant, tenants) });

  const rawInstances = doc.instances;
  if (!Array.isArray(rawInstances)) return outcome; // already reported by rootSchema
  if (rawInstances.length === 0) {
    problems.push({
      path: ['instances'],
      message:
        options.format === 'csv'
          ? 'the file has a header but no data rows; add one row per app instance'
          : 'is empty; add at least one instance, e.g. {"displayName": "AWS Contoso Prod"}',
    });
    return outcome;
  }
  if (rawInstances.length > options.maxInstances) {
    // Checked before any per-instance work so an oversized file costs little.
    problems.push({
      path: ['instances'],
      message:
        `has ${rawInstances.length} instances; the limit is ${options.maxInstances} per batch: ` +
        'split the file into several batches (or raise the configured maximum)',
    });
    return outcome;
  }

  const firstByName = new Map<string, number>();
  const firstByLook = new Map<string, { index: number; name: string }>();
  const firstByKey = new Map<string, number>();
  const templateHint =
    options.format === 'csv'
      ? 'fill in the applicationTemplate column'
      : 'set "applicationTemplate" on the instance or in "defaults"';

  rawInstances.forEach((raw, index) => {
    const base: PathSegment[] = ['instances', index];
    const parsed = instanceSchema.safeParse(raw);
    if (!parsed.success) pushAll(problems, issuesToProblems(parsed.error.issues, base, knownIn(INSTANCE_FIELDS)));

    if (isPlainObject(raw)) {
      if (
        raw.applicationTemplate === undefined &&
        defaults.applicationTemplate === undefined &&
        !defaultsTemplateUnknown &&
        !options.credentialsOnly
      ) {
        problems.push({
          path: [...base, 'applicationTemplate'],
          message:
            `is required: ${templateHint}, ` +
            'with the gallery app name (e.g. "Amazon Web Services (AWS)") or its template id',
        });
      }
      const name = raw.displayName;
      if (typeof name === 'string' && displayNameProblem(name) === null) {
        const compareKey = displayNameCompareKey(name);
        const first = firstByName.get(compareKey);
        if (first !== undefined) {
          problems.push({
            path: [...base, 'displayName'],
            message: (render) =>
              `duplicates the display name at ${render(['instances', first, 'displayName'])} (Entra compares display ` +
              'names ignoring case, so both would name one app); give each instance a unique display name',
          });
        } else {
          firstByName.set(compareKey, index);
          const lookKey = displayNameLookAlikeKey(name);
          const look = firstByLook.get(lookKey);
          if (look !== undefined) {
            // Entra would accept both, but two apps nobody can tell apart is a mistake, not a plan.
            problems.push({
              path: [...base, 'displayName'],
              message: (render) =>
                `looks the same as the display name at ${render(['instances', look.index, 'displayName'])}` +
                `${lookAlikeHint(look.name, name)}; Entra would create two apps that nobody can tell apart: ` +
                're-type one of the names in plain text or make them differ visibly',
            });
          } else firstByLook.set(lookKey, { index, name });
          const key = instanceKeyOf(name);
          const clash = look === undefined ? firstByKey.get(key) : undefined;
          if (clash !== undefined) {
            // A 40-bit hash collision: astronomically rare, but job ids must never collide.
            problems.push({
              path: [...base, 'displayName'],
              message: (render) =>
                `maps to the same instance key as ${render(['instances', clash, 'displayName'])}; ` +
                'change either name slightly',
            });
          } else if (look === undefined) firstByKey.set(key, index);
        }
      }
    }

    const inst = parsed.success ? parsed.data : salvage(instanceSchema, raw, parsed.error.issues);
    if (inst === null) return;
    if (inst.tenant !== undefined && !tenants.includes(inst.tenant))
      problems.push({ path: [...base, 'tenant'], message: unknownTenantMessage(inst.tenant, tenants) });
    const template =
      inst.applicationTemplate ?? defaults.applicationTemplate ?? (options.credentialsOnly ? '' : undefined);
    if (template === undefined) return;
    const credentials = mergeCredentials(defaults, inst.credentials, base);
    const ownCredentialsBroken = !parsed.success && parsed.error.issues.some((i) => i.path[0] === 'credentials');
    if (credentials.length === 0 && !defaultsCredentialsUnknown && !ownCredentialsBroken) {
      // Without credentials the app and its job would be created and then always fail to start.
      problems.push({
        path: [...base, 'credentials'],
        message:
          options.format === 'csv'
            ? 'has no credentials: every credential cell of this row is empty; fill in the columns the app needs ' +
              '(e.g. SecretToken with env:NAME or file:./path)'
            : 'is missing: the instance has no credentials (none of its own, none from "defaults"), so its ' +
              'provisioning job could never start; add e.g. ' +
              '"credentials": {"SecretToken": {"env": "AWS_SECRET_TOKEN"}} to the instance or to "defaults"',
      });
    }
    const onboarding = mergeOnboarding(defaults, inst);
    for (const [setting, key] of settingCredentialClashes(
      onboarding?.settings,
      credentials.map((c) => c.key),
    )) {
      problems.push({
        path: [...base, 'settings', setting],
        message: `sets the same secret key as credentials.${key}; keep one of them (settings are clearer)`,
      });
    }
    outcome.instances.push({
      index,
      instanceKey: instanceKeyOf(inst.displayName),
      displayName: inst.displayName,
      applicationTemplate: GUID_PATTERN.test(template) ? { id: template.toLowerCase() } : { displayName: template },
      synchronizationTemplateId:
        inst.synchronizationTemplateId === undefined
          ? (defaults.synchronizationTemplateId ?? null)
          : inst.synchronizationTemplateId,
      expect: inst.expect ?? defaults.expect ?? null,
      tenant: inst.tenant ?? defaults.tenant ?? DEFAULT_TENANT,
      credentials,
      onboarding,
    });
  });
  return outcome;
}

function unknownTenantMessage(name: string, tenants: readonly string[]): string {
  const shown = TENANT_NAME_PATTERN.test(name) ? `'${name}'` : 'a tenant';
  const where =
    tenants.length === 1 && tenants[0] === DEFAULT_TENANT
      ? 'no tenants file is configured (PROVFLOW_TENANTS), so the only tenant is "default"'
      : `the tenants file (PROVFLOW_TENANTS) lists ${tenants.join(', ')}`;
  const hint = didYouMean(name, tenants);
  return `names ${shown}, which is not a known tenant:${hint} ${where}; fix the name or add the tenant`;
}

function mergeCredentials(
  defaults: DefaultsInput,
  own: Record<string, CredentialRefInput | null | undefined> | undefined,
  base: PathSegment[],
): PlannedCredential[] {
  const merged = new Map<string, PlannedCredential>();
  for (const [key, ref] of Object.entries(defaults.credentials ?? {})) {
    if (ref) merged.set(key, { key, ref, origin: ['defaults', 'credentials', key] });
  }
  for (const [key, ref] of Object.entries(own ?? {})) {
    if (ref === null) merged.delete(key);
    else if (ref !== undefined) merged.set(key, { key, ref, origin: [...base, 'credentials', key] });
  }
  return [...merged.values()];
}
