/**
 * The per-tenant Graph clients of one process: for each tenant its own MSAL client and token
 * cache, its own limiter (quota windows sized by its tier, pauses and holds keyed by its tenant
 * id) and its own Graph client. A step reaches Graph only through `graphFor(instance's tenant)`,
 * so one tenant's secret can never sign a request to another.
 */
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import type { Config } from '../config.ts';
import type { GraphApi, GraphResponseEvent } from '../graph/graph-api.ts';
import { createGraphClient } from '../graph/graph-client.ts';
import type { GraphLimits } from '../graph/microsoft-quotas.ts';
import { createRedisThrottle, type HeldBackReason, type Throttle } from '../graph/throttle/index.ts';
import { createTokenProvider } from '../graph/token-provider.ts';
import type { Logger } from '../logger.ts';
import { DEFAULT_TENANT, TENANT_SIZE_RU, type TenantConfig, type TenantSize } from './tenant-schema.ts';

/** What may be shown of a tenant (no secret). */
export interface TenantInfo {
  name: string;
  tenantId: string;
  size: TenantSize | null;
  limits: GraphLimits;
}

/** A step or the poller asked for a tenant this process does not serve. */
export class UnknownTenantError extends Error {
  override readonly name = 'UnknownTenantError';
  /** Fails the instance alone with this reason: retrying cannot teach this process a tenant. */
  readonly errorClass = 'permanent';
  constructor(tenant: string, known: readonly string[]) {
    super(
      `tenant '${tenant}' is not served by this process (known: ${known.join(', ') || 'none'}); ` +
        'add it to the tenants file (PROVFLOW_TENANTS) of every worker and poller and restart them',
    );
  }
}

export interface TenantRegistry {
  names(): string[];
  has(name: string): boolean;
  /** The Graph client of `name`; throws UnknownTenantError. */
  graphFor(name: string): GraphApi;
  info(name: string): TenantInfo;
  close(): Promise<void>;
}

/**
 * The tier's quotas: GRAPH_RU_LIMIT is the S tier's resource-unit limit (Microsoft's 3,500 by
 * default), and M and L scale from it in Microsoft's ratios (5,000 / 8,000), so a simulator run
 * with scaled-down quotas keeps the tiers' proportions. No size: the configured limits as they are.
 */
export function limitsFor(cfg: Config, size: TenantSize | null): GraphLimits {
  const ru = size ? Math.max(1, Math.round((cfg.GRAPH_RU_LIMIT * TENANT_SIZE_RU[size]) / TENANT_SIZE_RU.S)) : null;
  return {
    writeLimit: cfg.GRAPH_WRITE_LIMIT,
    writeWindowMs: cfg.GRAPH_WRITE_WINDOW_MS,
    ruLimit: ru ?? cfg.GRAPH_RU_LIMIT,
    ruWindowMs: cfg.GRAPH_RU_WINDOW_MS,
    reportsLimit: cfg.GRAPH_REPORTS_LIMIT,
    reportsWindowMs: cfg.GRAPH_REPORTS_WINDOW_MS,
  };
}

/** A tenant as the registry takes it: from the tenants file, or the environment's (no size tier). */
export type RegistryTenant = Omit<TenantConfig, 'size'> & { size?: TenantSize; certificatePath?: string };

/** The single-tenant environment (AZURE_*) as the one tenant `default`. */
export function defaultTenantFromEnv(cfg: Config): RegistryTenant {
  if (!cfg.AZURE_TENANT_ID || !cfg.AZURE_CLIENT_ID)
    throw new Error('AZURE_TENANT_ID and AZURE_CLIENT_ID are required (or PROVFLOW_TENANTS)');
  return {
    name: DEFAULT_TENANT,
    tenantId: cfg.AZURE_TENANT_ID,
    clientId: cfg.AZURE_CLIENT_ID,
    clientSecret: cfg.AZURE_CLIENT_SECRET,
    certificatePath: cfg.AZURE_CLIENT_CERTIFICATE_PATH,
  };
}

export interface TenantRegistryOptions {
  cfg: Config;
  tenants: readonly RegistryTenant[];
  redis: Redis;
  /** The key prefix of a tenant's limiter windows (its hash tag: see src/redis-keys.ts). */
  prefixFor: (tenant: string) => string;
  holdSecret: Buffer;
  dispatcher: Dispatcher;
  logger: Logger;
  /** The poller's share of each tenant's resource units (1 = the whole quota). */
  ruShare: number;
  onResponse?: (tenant: string, e: GraphResponseEvent) => void;
  onHeldBack?: (why: HeldBackReason) => void;
}

export function createTenantRegistry(o: TenantRegistryOptions): TenantRegistry {
  const { cfg, redis, logger } = o;
  const byName = new Map<string, { graph: GraphApi; throttle: Throttle; info: TenantInfo }>();
  for (const t of o.tenants) {
    const size = t.size ?? null;
    const limits = limitsFor(cfg, size);
    const log = logger.child({ tenant: t.name });
    const tokenProvider = createTokenProvider({
      tenantId: t.tenantId,
      clientId: t.clientId,
      clientSecret: t.clientSecret,
      certificatePath: t.certificatePath,
      certificatePem: t.certificatePem,
      authorityHost: t.authorityHost ?? cfg.AZURE_AUTHORITY_HOST,
      dispatcher: o.dispatcher,
      logger: log,
    });
    const safety = cfg.GRAPH_LIMIT_SAFETY;
    const prefix = o.prefixFor(t.name);
    const throttle = createRedisThrottle({
      redis,
      prefix,
      limits,
      safety,
      holdSecret: o.holdSecret,
      engine: cfg.PROVFLOW_THROTTLE_ENGINE,
      // The poller keeps to its share of the tenant's resource units in a log of its own.
      ...(o.ruShare < 1 ? { share: { group: 'poller', ru: o.ruShare } } : {}),
      ...(o.onHeldBack ? { onHeldBack: o.onHeldBack } : {}),
      logger: log,
    });
    const graph = createGraphClient({
      tenantId: t.tenantId,
      graphBaseUrl: t.graphBaseUrl ?? cfg.GRAPH_BASE_URL,
      tokenProvider,
      throttle,
      dispatcher: o.dispatcher,
      logger: log,
      requestTimeoutMs: cfg.GRAPH_REQUEST_TIMEOUT_MS,
      onResponse: o.onResponse ? (e) => o.onResponse!(t.name, e) : undefined,
    });
    byName.set(t.name, { graph, throttle, info: { name: t.name, tenantId: t.tenantId, size, limits } });
  }
  const get = (name: string) => {
    const entry = byName.get(name);
    if (!entry) throw new UnknownTenantError(name, [...byName.keys()]);
    return entry;
  };
  return {
    names: () => [...byName.keys()],
    has: (name) => byName.has(name),
    graphFor: (name) => get(name).graph,
    info: (name) => get(name).info,
    async close() {
      await Promise.all([...byName.values()].map((e) => e.throttle.close()));
    },
  };
}
