/** The tenants of this deployment: the tenants file when PROVFLOW_TENANTS names one, else null (single tenant). */
import { ConfigError, type Config } from '../config.ts';
import { loadTenantsFile, tenantsProblemText, type LoadTenantsOptions } from './load-tenants.ts';
import { DEFAULT_TENANT, type TenantConfig } from './tenant-schema.ts';

/** Throws ConfigError (the CLI exits 2) listing every problem of a broken tenants file. */
export async function tenantsOf(
  cfg: Pick<Config, 'PROVFLOW_TENANTS'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: LoadTenantsOptions = {},
): Promise<TenantConfig[] | null> {
  if (!cfg.PROVFLOW_TENANTS) return null;
  const loaded = await loadTenantsFile(cfg.PROVFLOW_TENANTS, env, opts);
  if (!loaded.ok) throw new ConfigError(tenantsProblemText(cfg.PROVFLOW_TENANTS, loaded.problems));
  return loaded.tenants;
}

/** Tenant names a batch may use: the file's, or `default` alone for the single-tenant environment. */
export function tenantNames(tenants: readonly TenantConfig[] | null): string[] {
  return tenants ? tenants.map((t) => t.name) : [DEFAULT_TENANT];
}
