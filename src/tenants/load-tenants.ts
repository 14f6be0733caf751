/**
 * `loadTenantsFile`: reads and validates the tenants file and resolves each tenant's secret or
 * certificate reference, returning every problem found (path + fix) so a process refuses to
 * start (exit 2) rather than run with half its tenants. Reuses the batch file's readers,
 * reference resolver and "did you mean" problems.
 */
import { dirname, resolve } from 'node:path';
import { CREDENTIAL_REF_FIELDS } from '../batch/batch-schema.ts';
import type { BatchProblem } from '../batch/batch-types.ts';
import { parseJson } from '../batch/json-syntax.ts';
import { formatPath } from '../batch/problem-path.ts';
import { readBounded } from '../batch/read-bounded.ts';
import { CredentialResolver } from '../batch/resolve-credentials.ts';
import { decodeUtf8 } from '../batch/utf8.ts';
import { issuesToProblems, type RawProblem } from '../batch/zod-problems.ts';
import { TENANT_FIELDS, tenantEntrySchema, type TenantConfig } from './tenant-schema.ts';

export type TenantsLoad = { ok: true; tenants: TenantConfig[] } | { ok: false; problems: BatchProblem[] };

export interface LoadTenantsOptions {
  /** false: check the file but leave secrets unread (enqueue needs the names, not the secrets). */
  resolveSecrets?: boolean;
}

const MAX_TENANTS_FILE_BYTES = 4 * 1024 * 1024;
const REF_FIELDS = new Set(['clientSecret', 'clientCertificate']);

/** Loads `filePath`; `env` is where `{env}` references are looked up. Never throws on bad input. */
export async function loadTenantsFile(
  filePath: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: LoadTenantsOptions = {},
): Promise<TenantsLoad> {
  const source = resolve(filePath);
  const fail = (path: string, message: string): TenantsLoad => ({ ok: false, problems: [{ path, message }] });
  const read = await readBounded(source, MAX_TENANTS_FILE_BYTES);
  if (!read.ok) {
    const why = read.why === 'missing' ? 'does not exist; check PROVFLOW_TENANTS' : `cannot be read (${read.why})`;
    return fail('(file)', `tenants file ${source} ${why}`);
  }
  const decoded = decodeUtf8(read.bytes);
  if (!decoded.ok) return fail(`line ${decoded.line}`, decoded.message);
  const parsed = parseJson(decoded.text);
  if (!parsed.ok) {
    const { line, column, message } = parsed.error;
    return fail(`line ${line}, column ${column}`, `invalid JSON: ${message}`);
  }
  return validateTenants(parsed.value, dirname(source), env, opts);
}

/** Validates a parsed tenants document (an array of entries) and resolves its references. */
async function validateTenants(
  doc: unknown,
  baseDir: string,
  env: Readonly<Record<string, string | undefined>>,
  opts: LoadTenantsOptions = {},
): Promise<TenantsLoad> {
  if (!Array.isArray(doc) || doc.length === 0) {
    const message = Array.isArray(doc)
      ? 'the tenants file is an empty array; list at least one tenant'
      : 'a tenants file is a JSON array: [{"name": "contoso", "tenantId": "…", "clientId": "…", ' +
        '"clientSecret": {"env": "CONTOSO_SECRET"}, "size": "M"}, …]';
    return { ok: false, problems: [{ path: '(root)', message }] };
  }
  const raw: RawProblem[] = [];
  const tenants: TenantConfig[] = [];
  const byName = new Map<string, number>();
  const byTenantId = new Map<string, number>();
  const resolver = new CredentialResolver(baseDir, env);
  for (const [i, entry] of doc.entries()) {
    const parsed = tenantEntrySchema.safeParse(entry);
    if (!parsed.success) {
      const known = (p: readonly (string | number)[]) =>
        p.length === 0 ? TENANT_FIELDS : p.length === 1 && REF_FIELDS.has(String(p[0])) ? CREDENTIAL_REF_FIELDS : [];
      for (const p of issuesToProblems(parsed.error.issues, [i], known)) raw.push(p);
      continue;
    }
    const t = parsed.data;
    const sameName = byName.get(t.name);
    if (sameName !== undefined) {
      raw.push({
        path: [i, 'name'],
        message: `duplicates the name of tenant [${sameName}]; give each tenant its own name`,
      });
      continue;
    }
    byName.set(t.name, i);
    const tid = t.tenantId.toLowerCase();
    const sameId = byTenantId.get(tid);
    if (sameId !== undefined) {
      // One tenant id has one quota: two entries would each pace as if they had it alone.
      raw.push({
        path: [i, 'tenantId'],
        message: `is the tenant id of tenant [${sameId}] too; list each Entra tenant once (its quota is shared)`,
      });
      continue;
    }
    byTenantId.set(tid, i);
    const key = t.clientSecret ? 'clientSecret' : 'clientCertificate';
    const ref = t.clientSecret ?? t.clientCertificate!;
    const got =
      opts.resolveSecrets === false
        ? { ok: true as const, value: '' }
        : await resolver.resolve({ key, ref, origin: [i, key] });
    if (!got.ok) {
      if (got.problem) raw.push(got.problem);
      continue;
    }
    tenants.push({
      name: t.name,
      tenantId: tid,
      clientId: t.clientId.toLowerCase(),
      ...(key === 'clientSecret' ? { clientSecret: got.value } : { certificatePem: got.value }),
      ...(t.authorityHost ? { authorityHost: t.authorityHost.replace(/\/+$/, '') } : {}),
      ...(t.graphBaseUrl ? { graphBaseUrl: t.graphBaseUrl.replace(/\/+$/, '') } : {}),
      size: t.size,
    });
  }
  if (raw.length) {
    const problems = raw.map((p) => ({
      path: formatPath(p.path),
      message: typeof p.message === 'string' ? p.message : p.message(formatPath),
    }));
    return { ok: false, problems };
  }
  return { ok: true, tenants };
}

/** The problems as the lines a CLI prints before exiting 2. */
export function tenantsProblemText(file: string, problems: readonly BatchProblem[]): string {
  const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
  return `provflow cannot start, the tenants file ${file} (PROVFLOW_TENANTS) needs fixing:\n${lines.join('\n')}`;
}
