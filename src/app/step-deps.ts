/** The deps a step runs with, per tenant: shared by the steps and ops workers. */
import type { Ledger } from '../ledger/ledger.ts';
import type { StepDeps } from '../steps/types.ts';
import type { Runtime } from './runtime.ts';

/**
 * One deps object per tenant, built once: its Graph client carries that tenant's identity and
 * quota; `store` is the ledger of the lane whose queue holds the job (where its instance lives).
 */
export function depsByTenant(rt: Runtime, store: Ledger): { base: StepDeps; forTenant: (tenant: string) => StepDeps } {
  const base: StepDeps = {
    graph: rt.graph!,
    store,
    vault: rt.vault,
    settings: rt.stepSettings,
    logger: rt.logger,
    now: Date.now,
  };
  const byTenant = new Map<string, StepDeps>();
  const tenants = rt.tenants;
  const forTenant = (tenant: string): StepDeps => {
    let deps = byTenant.get(tenant);
    if (!deps) {
      const graph = tenants ? tenants.graphFor(tenant) : base.graph;
      byTenant.set(tenant, (deps = { ...base, graph, logger: rt.logger.child({ tenant }) }));
    }
    return deps;
  };
  return { base, forTenant };
}
