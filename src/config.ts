/**
 * Configuration, read once from the environment (and a `.env` file when present), validated
 * at start-up. Every default is visible in `DEFAULTS`; a missing or malformed variable stops
 * the process with a message that names it and says how to fix it.
 */
import { z } from 'zod';
import { DEFAULT_PREFIX } from './flow/queues.ts';
import { hasHashTag, tenantNameProblem } from './redis-keys.ts';
import { MICROSOFT_LIMITS } from './graph/microsoft-quotas.ts';
import { webhookUrlProblem } from './events/webhook.ts';

/** Defaults, in one place (values as they would be written in the environment). */
export const DEFAULTS = {
  AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com',
  GRAPH_BASE_URL: 'https://graph.microsoft.com/beta',
  BULLMQ_PREFIX: DEFAULT_PREFIX,
  LOG_LEVEL: 'info',
  /** Microsoft's per app+tenant quotas (src/graph/microsoft-quotas.ts). */
  GRAPH_WRITE_LIMIT: MICROSOFT_LIMITS.writeLimit,
  GRAPH_WRITE_WINDOW_MS: MICROSOFT_LIMITS.writeWindowMs,
  GRAPH_RU_LIMIT: MICROSOFT_LIMITS.ruLimit,
  GRAPH_RU_WINDOW_MS: MICROSOFT_LIMITS.ruWindowMs,
  GRAPH_REPORTS_LIMIT: MICROSOFT_LIMITS.reportsLimit,
  GRAPH_REPORTS_WINDOW_MS: MICROSOFT_LIMITS.reportsWindowMs,
  /** Pace at this share of every quota, leaving head-room for clock skew and other callers. */
  GRAPH_LIMIT_SAFETY: 0.95,
  /** Which engine keeps the pacing windows: native sliding-window logs, or bottleneck (measured, docs/adr). */
  PROVFLOW_THROTTLE_ENGINE: 'native',
  GRAPH_REQUEST_TIMEOUT_MS: 30_000,
  /**
   * Most step jobs wait on Graph latency, replication or the limiter, not on CPU, so one worker
   * runs many at once (figures: docs/adr/0004-measurements-lint.md).
   */
  WORKER_CONCURRENCY: 100,
  POLLER_CONCURRENCY: 20,
  /** A crashed worker's jobs are taken over after their lock expires (checked every stalled interval). */
  WORKER_LOCK_DURATION_MS: 30_000,
  WORKER_STALLED_INTERVAL_MS: 15_000,
  /** A worker idle for 3 of these looks while its queue has ready jobs exits for a restart. */
  WORKER_FETCH_WATCHDOG_MS: 20_000,
  /** How long an instance may wait for Graph replication before its step fails. */
  REPLICATION_TIMEOUT_MS: 600_000,
  /** After an ambiguous instantiate, how long to keep looking for the app before creating it again. */
  RECONCILE_WINDOW_MS: 300_000,
  /** Delay between replication reads (Microsoft advises 5–10 s). */
  REPLICATION_POLL_MS: 5_000,
  /** How long assign-groups waits for app roles the first cycle imports (AWS) before failing the instance. */
  ROLE_IMPORT_TIMEOUT_MS: 3_600_000,
  /** Right after start Graph may still show the job paused: within this grace that means "starting". */
  POLLER_START_GRACE_MS: 120_000,
  /** Share of the tenant's resource units the poller may use. */
  POLLER_QUOTA_SHARE: 0.2,
  POLLER_MIN_INTERVAL_MS: 5_000,
  POLLER_MAX_INTERVAL_MS: 300_000,
  /** How long the poller watches a job before calling it timed-out. */
  POLLER_DEADLINE_MS: 7_200_000,
  MAX_BATCH_INSTANCES: 10_000,
  /** One-shot commands (enqueue, status, plan, restart) give up on an unreachable Redis after this long. */
  REDIS_CONNECT_TIMEOUT_MS: 10_000,
  /** Provisioning-log page size, and pages read per poller run before it yields its slot. */
  POLLER_LOG_PAGE_SIZE: 100,
  POLLER_LOG_PAGES_PER_RUN: 3,
} as const;

const num = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().min(min).max(max);
const optionalNonEmpty = z.string().min(1).optional();

const schema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must look like redis://host:6379')
    .optional(),
  /** REDIS_URL is one node of a Redis Cluster (its credentials and TLS apply to every node). */
  REDIS_CLUSTER: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .optional(),
  /** More cluster seed nodes, `host:port,host:port` (implies REDIS_CLUSTER). */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, 'must look like 10.0.0.1:7000,10.0.0.2:7000')
    .optional(),
  /**
   * Serve only this tenant's queues (a fleet split across machines by tenant). Unset, a worker or
   * poller serves `default` and every tenant of its tenants file.
   */
  PROVFLOW_TENANT: z
    .string()
    .superRefine((v, ctx) => {
      const problem = tenantNameProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  AZURE_TENANT_ID: optionalNonEmpty,
  AZURE_CLIENT_ID: optionalNonEmpty,
  AZURE_CLIENT_SECRET: optionalNonEmpty,
  AZURE_CLIENT_CERTIFICATE_PATH: optionalNonEmpty,
  AZURE_AUTHORITY_HOST: z.url().default(DEFAULTS.AZURE_AUTHORITY_HOST),
  /** A tenants file (many tenants, src/tenants/): when set, the AZURE_* identity is not used. */
  PROVFLOW_TENANTS: optionalNonEmpty,
  GRAPH_BASE_URL: z.url().default(DEFAULTS.GRAPH_BASE_URL),
  PROVFLOW_SECRET_KEY: optionalNonEmpty,
  PROVFLOW_SECRET_KEY_PREVIOUS: optionalNonEmpty,
  BOARD_USERNAME: optionalNonEmpty,
  BOARD_PASSWORD: optionalNonEmpty,
  BOARD_HOST: optionalNonEmpty,
  BULLMQ_PREFIX: z
    .string()
    .min(1)
    .regex(/^[^:\s]+$/, 'no colons or spaces')
    .default(DEFAULTS.BULLMQ_PREFIX),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULTS.LOG_LEVEL),
  GRAPH_WRITE_LIMIT: num(1).default(DEFAULTS.GRAPH_WRITE_LIMIT),
  GRAPH_WRITE_WINDOW_MS: num(1).default(DEFAULTS.GRAPH_WRITE_WINDOW_MS),
  GRAPH_RU_LIMIT: num(1).default(DEFAULTS.GRAPH_RU_LIMIT),
  GRAPH_RU_WINDOW_MS: num(1).default(DEFAULTS.GRAPH_RU_WINDOW_MS),
  GRAPH_REPORTS_LIMIT: num(1).default(DEFAULTS.GRAPH_REPORTS_LIMIT),
  GRAPH_REPORTS_WINDOW_MS: num(1).default(DEFAULTS.GRAPH_REPORTS_WINDOW_MS),
  GRAPH_LIMIT_SAFETY: num(0.1, 1).default(DEFAULTS.GRAPH_LIMIT_SAFETY),
  PROVFLOW_THROTTLE_ENGINE: z
    .enum(['native', 'bottleneck'], { message: 'use native (the default) or bottleneck' })
    .default(DEFAULTS.PROVFLOW_THROTTLE_ENGINE),
  GRAPH_REQUEST_TIMEOUT_MS: num(100).default(DEFAULTS.GRAPH_REQUEST_TIMEOUT_MS),
  WORKER_CONCURRENCY: num(1, 1000).default(DEFAULTS.WORKER_CONCURRENCY),
  POLLER_CONCURRENCY: num(1, 1000).default(DEFAULTS.POLLER_CONCURRENCY),
  WORKER_LOCK_DURATION_MS: num(1000).default(DEFAULTS.WORKER_LOCK_DURATION_MS),
  WORKER_STALLED_INTERVAL_MS: num(500).default(DEFAULTS.WORKER_STALLED_INTERVAL_MS),
  WORKER_FETCH_WATCHDOG_MS: num(1000).default(DEFAULTS.WORKER_FETCH_WATCHDOG_MS),
  REPLICATION_TIMEOUT_MS: num(0).default(DEFAULTS.REPLICATION_TIMEOUT_MS),
  RECONCILE_WINDOW_MS: num(0).default(DEFAULTS.RECONCILE_WINDOW_MS),
  REPLICATION_POLL_MS: num(1).default(DEFAULTS.REPLICATION_POLL_MS),
  ROLE_IMPORT_TIMEOUT_MS: num(0).default(DEFAULTS.ROLE_IMPORT_TIMEOUT_MS),
  POLLER_START_GRACE_MS: num(0).default(DEFAULTS.POLLER_START_GRACE_MS),
  POLLER_QUOTA_SHARE: num(0.01, 1).default(DEFAULTS.POLLER_QUOTA_SHARE),
  POLLER_MIN_INTERVAL_MS: num(10).default(DEFAULTS.POLLER_MIN_INTERVAL_MS),
  POLLER_MAX_INTERVAL_MS: num(10).default(DEFAULTS.POLLER_MAX_INTERVAL_MS),
  POLLER_DEADLINE_MS: num(1000).default(DEFAULTS.POLLER_DEADLINE_MS),
  MAX_BATCH_INSTANCES: num(1).default(DEFAULTS.MAX_BATCH_INSTANCES),
  REDIS_CONNECT_TIMEOUT_MS: num(100).default(DEFAULTS.REDIS_CONNECT_TIMEOUT_MS),
  POLLER_LOG_PAGE_SIZE: num(1, 999).default(DEFAULTS.POLLER_LOG_PAGE_SIZE),
  POLLER_LOG_PAGES_PER_RUN: num(1, 100).default(DEFAULTS.POLLER_LOG_PAGES_PER_RUN),
  // Checked here, at start-up, not at the first delivery; the message never quotes the URL.
  PROVFLOW_WEBHOOK_URL: z
    .string()
    .superRefine((v, ctx) => {
      const problem = webhookUrlProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  PROVFLOW_WEBHOOK_AUTHORIZATION: optionalNonEmpty,
  // 0 (default): no scheduled verify. Otherwise the poller verifies every running instance's saved
  // credentials this often.
  PROVFLOW_VERIFY_INTERVAL_MS: num(0).default(0),
});

/** Validated configuration. */
export type Config = z.infer<typeof schema>;

/** Thrown (and printed by the CLI) when the environment is wrong; the message names each variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** What a process needs besides the defaults: each command asks only for what it uses. */
export type Requirement = 'redis' | 'graph' | 'secretKey' | 'board';

const HOW: Record<string, string> = {
  REDIS_URL: 'set it to your Redis, e.g. REDIS_URL=redis://127.0.0.1:6379',
  AZURE_TENANT_ID:
    'the directory (tenant) id of your Entra tenant (or, for many tenants, PROVFLOW_TENANTS=tenants.json)',
  AZURE_CLIENT_ID: "the application (client) id of provflow's app registration",
  AZURE_CLIENT_SECRET: 'a client secret of that app (or set AZURE_CLIENT_CERTIFICATE_PATH)',
  PROVFLOW_SECRET_KEY: 'a 32-byte key for sealing credentials: PROVFLOW_SECRET_KEY=$(openssl rand -base64 32)',
  BOARD_USERNAME: 'the user name operators log in to the board with',
  BOARD_PASSWORD: 'the password operators log in to the board with',
};

/** Variables whose values may hold a secret (a password, a token in a URL): never echoed. */
const NEVER_ECHO = new Set([
  'PROVFLOW_WEBHOOK_URL',
  'PROVFLOW_WEBHOOK_AUTHORIZATION',
  'AZURE_CLIENT_SECRET',
  'PROVFLOW_SECRET_KEY',
  'PROVFLOW_SECRET_KEY_PREVIOUS',
  'BOARD_PASSWORD',
]);

/** ` (got "…")` for a bad value, with any `user:password@` hidden; nothing for secret-bearing variables. */
function shownValue(name: string, value: string | undefined): string {
  if (NEVER_ECHO.has(name)) return '';
  return ` (got ${JSON.stringify(String(value ?? '').replace(/\/\/[^/@\s]*@/g, '//***@'))})`;
}

/** Parses and validates `env`; throws ConfigError naming every bad or missing variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, require: Requirement[] = []): Config {
  // Empty strings are treated as unset, as shells and compose files often produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.');
      problems.push(`${name}: ${issue.message}${shownValue(name, cleaned[name])}`);
    }
  }
  const cfg = parsed.success ? parsed.data : undefined;
  const need = (name: keyof Config) => {
    if (!cfg || cfg[name] === undefined) problems.push(`${name} is not set: ${HOW[name] ?? 'set it'}`);
  };
  if (require.includes('redis')) need('REDIS_URL');
  // On a cluster BullMQ needs every key of a queue in one slot: only a `{hash tag}` prefix gives that.
  if (cfg && redisIsCluster(cfg) && !hasHashTag(cfg.BULLMQ_PREFIX))
    problems.push(
      `BULLMQ_PREFIX: on Redis Cluster it must start with a hash tag in braces, e.g. {provflow}` +
        shownValue('BULLMQ_PREFIX', cfg.BULLMQ_PREFIX),
    );
  if (require.includes('graph') && !cfg?.PROVFLOW_TENANTS) {
    need('AZURE_TENANT_ID');
    need('AZURE_CLIENT_ID');
    if (cfg && !cfg.AZURE_CLIENT_SECRET && !cfg.AZURE_CLIENT_CERTIFICATE_PATH) need('AZURE_CLIENT_SECRET');
  }
  if (require.includes('secretKey')) need('PROVFLOW_SECRET_KEY');
  if (require.includes('board')) {
    need('BOARD_USERNAME');
    need('BOARD_PASSWORD');
  }
  if (problems.length || !cfg) {
    throw new ConfigError(`provflow cannot start, the environment needs fixing:\n  - ${problems.join('\n  - ')}`);
  }
  return cfg;
}

/** True when the deployment's Redis is a Redis Cluster (REDIS_CLUSTER or REDIS_CLUSTER_NODES set). */
export function redisIsCluster(cfg: Pick<Config, 'REDIS_CLUSTER' | 'REDIS_CLUSTER_NODES'>): boolean {
  return cfg.REDIS_CLUSTER === true || (cfg.REDIS_CLUSTER !== false && !!cfg.REDIS_CLUSTER_NODES);
}

/** Loads `.env` from the working directory (if any) without overriding the real environment. */
export async function loadDotEnv(): Promise<void> {
  const { config } = await import('dotenv');
  config({ quiet: true } as Parameters<typeof config>[0]);
}
