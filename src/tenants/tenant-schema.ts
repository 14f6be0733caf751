/**
 * The tenants file's shape (`PROVFLOW_TENANTS=tenants.json`): one entry per Entra tenant the fleet
 * serves, each with its own app registration. Messages say what is wrong and how to fix it and
 * never repeat a value (a secret may sit in the wrong field).
 */
import { z } from 'zod';
import { credentialRefSchema, describeValue, GUID_PATTERN } from '../batch/batch-schema.ts';

/** The tenant of a single-tenant deployment (AZURE_TENANT_ID…) and of jobs enqueued before tenants existed. */
import { TENANT_NAME_PATTERN } from '../redis-keys.ts';
export { DEFAULT_TENANT } from '../redis-keys.ts';

/** Entra's size tiers: resource units per 10 s per app+tenant (S < 50 users, M 50–500, L > 500). */
export const TENANT_SIZE_RU = { S: 3500, M: 5000, L: 8000 } as const;
export type TenantSize = keyof typeof TENANT_SIZE_RU;

export const TENANT_FIELDS = [
  'name',
  'tenantId',
  'clientId',
  'clientSecret',
  'clientCertificate',
  'authorityHost',
  'graphBaseUrl',
  'size',
] as const;

const typeError = (expected: string, fix: string) => (issue: { code?: string; input?: unknown }) => {
  if (issue.code !== 'invalid_type') return undefined;
  return issue.input === undefined
    ? `is required; ${fix}`
    : `must be ${expected}, not ${describeValue(issue.input)}; ${fix}`;
};

const guid = (what: string) =>
  z
    .string({ error: typeError('a string', `give the ${what} (a GUID) in quotes`) })
    .regex(GUID_PATTERN, { error: `must be the ${what}, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47` });

const httpsUrl = (example: string) =>
  z
    .string({ error: typeError('a string', `give a URL, e.g. "${example}", or leave it out`) })
    .regex(/^https:\/\/[^\s/]+(\/\S*)?$/, { error: `must be an https URL such as "${example}", or left out` });

/** A secret or certificate reference: `{env}` or `{file}` only, so the tenants file itself holds no secret. */
const secretRef = credentialRefSchema.superRefine((ref, ctx) => {
  if (ref.value !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message:
        'is not allowed here: the tenants file must hold no secret; put it in an environment variable ' +
        '({"env": "CONTOSO_CLIENT_SECRET"}) or a file readable only by provflow ({"file": "./secrets/contoso.txt"})',
    });
  }
});

export const tenantEntrySchema = z
  .strictObject(
    {
      name: z.string({ error: typeError('a string', 'name the tenant, e.g. "contoso"') }).regex(TENANT_NAME_PATTERN, {
        error:
          'must be 1–32 lower-case letters, digits or "-" (not first or last), e.g. "contoso": ' +
          'batch files name the tenant by it, and it goes into Redis keys and metric labels',
      }),
      tenantId: guid('directory (tenant) id'),
      clientId: guid("application (client) id of provflow's app registration in that tenant"),
      clientSecret: secretRef.optional(),
      clientCertificate: secretRef.optional(),
      authorityHost: httpsUrl('https://login.microsoftonline.com').optional(),
      graphBaseUrl: httpsUrl('https://graph.microsoft.com/beta').optional(),
      size: z.enum(['S', 'M', 'L'], {
        error: (issue) =>
          `${issue.input === undefined ? 'is required' : 'must be "S", "M" or "L"'}: the tenant's size tier, ` +
          'which sets its resource-unit quota ' +
          '(S: fewer than 50 users, 3,500 RU per 10 s; M: 50–500, 5,000; L: more than 500, 8,000)',
      }),
    },
    { error: typeError('an object', 'write each tenant as {"name": "…", "tenantId": "…", …}') },
  )
  .superRefine((t, ctx) => {
    const both = t.clientSecret !== undefined && t.clientCertificate !== undefined;
    if (both || (t.clientSecret === undefined && t.clientCertificate === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: both
          ? 'and clientCertificate are both set; keep exactly one'
          : 'is missing: give "clientSecret" ({"env": "NAME"} or {"file": "./path"}) or "clientCertificate" ' +
            '(a PEM file with the private key and the certificate)',
      });
    }
  });

/** A tenant with its secret resolved (in memory only: never logged, stored or shown). */
export interface TenantConfig {
  name: string;
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM text with the private key and the certificate. */
  certificatePem?: string;
  authorityHost?: string;
  graphBaseUrl?: string;
  size: TenantSize;
}
