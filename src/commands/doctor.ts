/**
 * `provflow doctor [--json]`: everything a first run against a tenant would otherwise discover one
 * error at a time — configuration, Redis settings, the token and its permissions, Graph, the clock,
 * the secret key — as one checklist with a fix for each failed line.
 * Exit 0 when every check passes, 1 when one fails, 2 when the configuration itself is bad.
 */
import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config.ts';
import { fitLines, renderTable, terminalWidth } from '../ui/table.ts';
import { EXIT, out } from './common.ts';
import { fail, ok, type Check } from './doctor-check.ts';
import { graphChecks, type DoctorTenant } from './doctor-graph.ts';
import { tenantsOf } from '../tenants/tenants-config.ts';
import { redisChecks, secretKeyChecks } from './doctor-redis.ts';

export type { Check } from './doctor-check.ts';

/** Every check, in the order a person fixes them. */
export async function runDoctorChecks(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ checks: Check[]; badConfig: boolean }> {
  let cfg: Config;
  try {
    cfg = loadConfig(env, ['redis', 'graph']);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return {
      checks: [fail('configuration valid', e.message, 'set the variables named above (in the environment or .env)')],
      badConfig: true,
    };
  }
  // Many tenants: every tenant of the file is checked with its own identity (its lines name it).
  let tenants: DoctorTenant[] | undefined;
  try {
    tenants = (await tenantsOf(cfg, env))?.map((t) => ({
      ...t,
      authorityHost: t.authorityHost ?? cfg.AZURE_AUTHORITY_HOST,
      graphBaseUrl: t.graphBaseUrl ?? cfg.GRAPH_BASE_URL,
    }));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const fix = 'fix the tenants file (PROVFLOW_TENANTS) as the lines above say';
    return { checks: [fail('configuration valid', e.message, fix)], badConfig: true };
  }
  const checks: Check[] = [
    ok(
      'configuration valid',
      tenants
        ? `${tenants.length} tenant(s) in ${cfg.PROVFLOW_TENANTS}: ${tenants.map((t) => t.name).join(', ')}`
        : `tenant ${cfg.AZURE_TENANT_ID}, Graph ${cfg.GRAPH_BASE_URL}`,
    ),
  ];
  const secret = secretKeyChecks(cfg);
  checks.push(...(await redisChecks(cfg, secret.keys)));
  checks.push(...(await graphChecks(cfg, env, tenants)));
  // The key itself before the sealed values it opens.
  const at = checks.findIndex((c) => c.name.startsWith('secret key opens'));
  checks.splice(at >= 0 ? at : checks.length, 0, ...secret.checks);
  return { checks, badConfig: false };
}

export async function runDoctor(opts: { json?: boolean }): Promise<number> {
  await loadDotEnv();
  const { checks, badConfig } = await runDoctorChecks(process.env);
  if (opts.json) {
    out(JSON.stringify({ checks }));
  } else {
    out(
      renderTable(checks, [
        { header: '', get: (c) => (c.ok ? 'ok' : 'FAIL'), priority: 0 },
        { header: 'check', get: (c) => c.name, priority: 0, min: 24, max: 48 },
        { header: 'detail', get: (c) => c.detail, priority: 1, min: 20, wrap: true },
      ]),
    );
    const failed = checks.filter((c) => !c.ok);
    for (const c of failed) out(fitLines(`fix (${c.name}): ${c.fix}`, terminalWidth()));
    out(failed.length ? `${failed.length} of ${checks.length} checks failed` : `all ${checks.length} checks passed`);
  }
  if (badConfig) return EXIT.badInput;
  return checks.every((c) => c.ok) ? EXIT.ok : EXIT.failed;
}
