/**
 * A tenants file for a simulator hosting several tenants: names `t1`…`tN`, each tenant's secret in
 * an environment variable of its own (the file holds none), as an operator would write it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SimulatorHandle } from './sim/index.ts';
import type { TenantSize } from '../tenants/tenant-schema.ts';

export interface SimTenantsFile {
  path: string;
  /** The secrets' environment variables (give them to every provflow process). */
  env: Record<string, string>;
  names: string[];
}

export function writeSimTenantsFile(
  sim: Pick<SimulatorHandle, 'tenants' | 'authorityHost' | 'graphBaseUrl'>,
  opts: { dir?: string; size?: TenantSize } = {},
): SimTenantsFile {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'provflow-tenants-'));
  const env: Record<string, string> = {};
  const entries = sim.tenants.map((t, i) => {
    const variable = `PROVFLOW_SIM_T${i + 1}_SECRET`;
    env[variable] = t.clientSecret;
    return {
      name: `t${i + 1}`,
      tenantId: t.tenantId,
      clientId: t.clientId,
      clientSecret: { env: variable },
      authorityHost: sim.authorityHost,
      graphBaseUrl: sim.graphBaseUrl,
      size: opts.size ?? 'S',
    };
  });
  const file = path.join(dir, 'tenants.json');
  writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  return { path: file, env, names: entries.map((e) => e.name) };
}
