/**
 * `provflow plan FILE`: a dry run. Validates the file, then asks Graph (reads only) what each
 * instance would lead to: create a new app, adopt an existing one with the same name and
 * template, or skip because this batch already handles it.
 */
import { renderTable } from '../ui/table.ts';
import { ConfigError } from '../config.ts';
import { DEFAULT_TENANT } from '../tenants/tenant-schema.ts';
import { tenantNames, tenantsOf } from '../tenants/tenants-config.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';
import { loadOrExit } from './enqueue.ts';
import { checkExistingSyncTemplates, syncTemplateAtRunTime, withSyncTemplate } from './plan-sync-templates.ts';
import { planGroups, planOnboarding, type BatchGroups } from './plan-onboarding.ts';

interface PlanRow {
  displayName: string;
  action: 'create' | 'adopt' | 'skip' | 'error';
  template: string;
  detail: string;
  /** What the onboarding fields will do (settings, assignments, schema diff, smoke test). */
  onboarding?: string[];
}

export async function runPlan(file: string, opts: { batchId?: string; json?: boolean }): Promise<number> {
  const cfg0 = await configFor([]);
  const tenants = await tenantsOf(cfg0).catch((e: unknown) => {
    throw e instanceof ConfigError ? new CliExit(e.message, EXIT.badInput) : e;
  });
  const maxInstances = cfg0.MAX_BATCH_INSTANCES;
  const batch = await loadOrExit(file, { batchId: opts.batchId, maxInstances, tenants: tenantNames(tenants) });
  const cfg = await configFor(['redis', 'graph']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'plan', 'warn'), withGraph: true, tenants });
  // Each instance is read through its own tenant's client (its identity, its quota).
  const graphOf = (inst: { tenant?: string }) => rt.tenants!.graphFor(inst.tenant ?? DEFAULT_TENANT);
  const rows: PlanRow[] = [];
  const templateIds = new Map<string, string | Error>();
  const groupsByTenant = new Map<string, BatchGroups>();
  try {
    // Groups are resolved once per batch and tenant, as the run resolves them (a name is per tenant).
    for (const tenant of new Set(batch.instances.map((i) => i.tenant ?? DEFAULT_TENANT))) {
      const insts = batch.instances.filter((i) => (i.tenant ?? DEFAULT_TENANT) === tenant);
      groupsByTenant.set(tenant, await planGroups(graphOf(insts[0]!), insts));
    }
    /** One instance's row: skip (already in the batch), adopt or create, with its sync template checked. */
    const planInstance = async (inst: (typeof batch.instances)[number], t: string): Promise<PlanRow> => {
      const graph = graphOf(inst);
      // The instance's own lane: where its tenant's part of the batch would be.
      const lane = rt.lane(inst.tenant ?? DEFAULT_TENANT);
      const state = (await lane.ledger.getInstance(batch.batchId, inst.instanceKey))?.state;
      if (state && state !== 'failed') {
        return {
          displayName: inst.displayName,
          action: 'skip',
          template: t,
          detail: `already in batch ${batch.batchId} (${state})`,
        };
      }
      const apps = await graph.findApplications({ displayName: inst.displayName, applicationTemplateId: t });
      // The synchronization template, as step 4 will choose it: listed for an app that exists.
      const sync = apps.length
        ? await checkExistingSyncTemplates(graph, apps, inst.synchronizationTemplateId)
        : syncTemplateAtRunTime(inst.synchronizationTemplateId);
      const groups = groupsByTenant.get(inst.tenant ?? DEFAULT_TENANT) ?? new Map();
      const onboarding = await planOnboarding(graph, inst, apps, groups);
      if (!onboarding.ok)
        return { displayName: inst.displayName, action: 'error', template: t, detail: onboarding.lines.join('; ') };
      const row = withSyncTemplate<PlanRow>(
        apps.length
          ? {
              displayName: inst.displayName,
              action: 'adopt',
              template: t,
              detail: `existing application ${apps.map((a) => a.appId).join(', ')}`,
            }
          : {
              displayName: inst.displayName,
              action: 'create',
              template: t,
              detail:
                'new app + provisioning job' +
                (inst.credentials.length
                  ? `, credentials ${inst.credentialSources.map((c) => `${c.key} (${c.source})`).join(', ')}`
                  : ''),
            },
        sync,
      );
      return onboarding.lines.length ? { ...row, onboarding: onboarding.lines } : row;
    };
    for (const inst of batch.instances) {
      const tKey = inst.applicationTemplate.id ?? inst.applicationTemplate.displayName ?? '';
      const graph = graphOf(inst);
      if (!templateIds.has(tKey)) {
        try {
          if (inst.applicationTemplate.id) {
            const t = await graph.getApplicationTemplate(inst.applicationTemplate.id);
            templateIds.set(tKey, t ? t.id : new Error(`no template with id ${tKey}`));
          } else {
            const found = await graph.findApplicationTemplatesByName(tKey);
            templateIds.set(
              tKey,
              found.length === 1
                ? found[0]!.id
                : new Error(
                    found.length
                      ? `${found.length} templates named '${tKey}': give the id`
                      : `no template named '${tKey}'`,
                  ),
            );
          }
        } catch (e) {
          templateIds.set(tKey, e as Error);
        }
      }
      const t = templateIds.get(tKey)!;
      if (t instanceof Error) {
        rows.push({ displayName: inst.displayName, action: 'error', template: tKey, detail: t.message });
        continue;
      }
      // A read that fails for one instance (Graph refusing its filter, a lost connection) is an
      // error row for that instance, not a crash of the whole plan.
      const row = await planInstance(inst, t).catch((e: unknown): PlanRow => ({
        displayName: inst.displayName,
        action: 'error',
        template: t,
        detail: (e as Error)?.message ?? String(e),
      }));
      rows.push(row);
    }
  } finally {
    await rt.close();
  }
  const count = (a: PlanRow['action']) => rows.filter((r) => r.action === a).length;
  if (opts.json)
    out(
      JSON.stringify({
        batchId: batch.batchId,
        create: count('create'),
        adopt: count('adopt'),
        skip: count('skip'),
        error: count('error'),
        instances: rows,
      }),
    );
  else {
    out(
      renderTable(rows, [
        { header: 'instance', get: (r) => r.displayName, max: 40 },
        { header: 'action', get: (r) => r.action },
        { header: 'template', get: (r) => r.template, max: 38 },
        { header: 'detail', get: (r) => r.detail, max: 100 },
      ]),
    );
    const withOnboarding = rows.filter((r) => r.onboarding?.length);
    if (withOnboarding.length)
      out(
        renderTable(
          withOnboarding.flatMap((r) => r.onboarding!.map((line, i) => ({ name: i ? '' : r.displayName, line }))),
          [
            { header: 'instance', get: (r) => r.name, max: 40 },
            { header: 'onboarding (settings, assignments, schema diff, smoke test)', get: (r) => r.line, max: 120 },
          ],
        ),
      );
    out(
      `plan for batch ${batch.batchId}: ${count('create')} to create, ${count('adopt')} to adopt, ` +
        `${count('skip')} to skip, ${count('error')} with errors (nothing was written)`,
    );
  }
  return count('error') ? EXIT.failed : EXIT.ok;
}
