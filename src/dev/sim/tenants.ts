/**
 * The simulated tenants: the first with the global settings, the others with those plus their own
 * overrides, each with its own app registration, directory, quotas and counters (seeded ids).
 */
import { randomBytes } from 'node:crypto';
import { SeededRandom } from './prng.ts';
import { QuotaModel } from './quota.ts';
import { applyOverrides, type SimulatorSettings } from './settings.ts';
import { SimState, type SimStats } from './state.ts';
import { renderJob } from './job-status.ts';
import { settleWatched } from './settle.ts';

/** One more simulated tenant; `overrides` change its settings only (e.g. its quota, a 429 storm). */
export interface SimTenantOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  overrides?: Partial<SimulatorSettings>;
}

/** A simulated tenant's identity (what a tenants file needs). */
export interface SimTenantIdentity {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface SimTenant extends SimTenantIdentity {
  state: SimState;
  quota: QuotaModel;
  overrides: Partial<SimulatorSettings>;
  settings: () => SimulatorSettings;
  reconfigure?: () => void;
}

/** Every tenant by id (lower-cased), and the global settings the first one uses. */
export class TenantRegistry {
  /** The global settings: the first tenant's, the base of the others'. */
  settings: SimulatorSettings;
  readonly primary: SimTenant;
  private readonly byId = new Map<string, SimTenant>();

  constructor(o: {
    seed: number;
    timeScale: number;
    settings: SimulatorSettings;
    identity?: { tenantId?: string; clientId?: string; clientSecret?: string };
    tenants?: SimTenantOptions[];
  }) {
    const { seed, timeScale } = o;
    this.settings = o.settings;
    const global = () => this.settings;
    // Identity of the simulated tenant and of provflow's app registration in it (seeded: replayable).
    const tenantId = o.identity?.tenantId ?? new SeededRandom(seed + 1).uuid();
    this.primary = {
      tenantId,
      clientId: o.identity?.clientId ?? new SeededRandom(seed + 2).uuid(),
      clientSecret: o.identity?.clientSecret ?? `sim-secret-${randomBytes(12).toString('base64url')}`,
      state: new SimState(tenantId, new SeededRandom(seed), global, timeScale),
      quota: new QuotaModel(global),
      overrides: {},
      settings: global,
    };
    this.byId.set(tenantId.toLowerCase(), this.primary);
    (o.tenants ?? []).forEach((t, i) => this.add(t, i, seed, timeScale));
  }

  private add(o: SimTenantOptions, i: number, seed: number, timeScale: number): void {
    const id = o.tenantId ?? new SeededRandom(seed + 101 + 2 * i).uuid();
    let cached: { base: SimulatorSettings; merged: SimulatorSettings } | null = null;
    const own = (): SimulatorSettings => {
      if (cached?.base !== this.settings)
        cached = { base: this.settings, merged: applyOverrides(this.settings, t.overrides) };
      return cached.merged;
    };
    const t: SimTenant = {
      tenantId: id,
      clientId: o.clientId ?? new SeededRandom(seed + 102 + 2 * i).uuid(),
      clientSecret: o.clientSecret ?? `sim-secret-${randomBytes(12).toString('base64url')}`,
      state: new SimState(id, new SeededRandom(seed * 1000 + i + 7), own, timeScale),
      quota: new QuotaModel(own),
      overrides: o.overrides ?? {},
      settings: own,
    };
    t.reconfigure = () => (cached = null);
    this.byId.set(id.toLowerCase(), t);
  }

  find(id: string): SimTenant | undefined {
    return this.byId.get(id.toLowerCase());
  }

  all(): SimTenant[] {
    return [...this.byId.values()];
  }

  identities(): SimTenantIdentity[] {
    return this.all().map(({ tenantId, clientId, clientSecret }) => ({ tenantId, clientId, clientSecret }));
  }

  /** The first tenant's overrides change the global settings (every tenant's base). */
  configure(t: SimTenant, overrides: Partial<SimulatorSettings>): void {
    if (t === this.primary) this.settings = applyOverrides(this.settings, overrides);
    else {
      t.overrides = { ...t.overrides, ...overrides };
      t.reconfigure?.();
    }
  }

  resetAll(): void {
    for (const t of this.all()) {
      t.state.reset();
      t.quota.reset();
    }
  }
}

/** One tenant's counters, with its directory's sizes and its jobs by status code (settled first). */
export function tenantStats(t: SimTenant): SimStats {
  const now = Date.now();
  const { state } = t;
  settleWatched(state, now);
  const jobsByCode: Record<string, number> = {};
  for (const j of state.jobs.values()) {
    const code = String(renderJob(j, t.settings(), now).status.code);
    jobsByCode[code] = (jobsByCode[code] ?? 0) + 1;
  }
  return {
    ...structuredClone(state.stats),
    applications: state.apps.size,
    servicePrincipals: state.sps.size,
    jobsByCode,
  };
}
