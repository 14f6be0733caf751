/**
 * `provflow doctor [--json]`: everything a first run against a tenant would otherwise discover one
 * error at a time — configuration, Redis settings, the token and its permissions, Graph, the clock,
 * the secret key — as one checklist with a fix for each failed line.
 * Exit 0 when every check passes, 1 when one fails, 2 when the configuration itself is bad.
 */
import { connect as tlsConnect } from 'node:tls';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config.ts';
import { createHttpAgent, trustedCertificates } from '../graph/http-agent.ts';
import { createTokenProvider } from '../graph/token-provider.ts';
import { ledgerKeys } from '../ledger/keys.ts';
import { redactString } from '../logger.ts';
import { openSecretPairs, parseSecretKey, sealSecretPairs, type SecretKey } from '../secrets/seal.ts';
import { fitLines, renderTable, terminalWidth } from '../ui/table.ts';
import { EXIT, out } from './common.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check fails (null when it passed). */
  fix: string | null;
}

/** Application permissions provflow's features need; a feature is covered by any one of its `anyOf`. */
const PERMISSIONS: { name: string; feature: string; anyOf: string[][] }[] = [
  {
    name: 'instantiate',
    feature: 'creating applications from gallery templates (instantiate)',
    anyOf: [['Application.ReadWrite.OwnedBy'], ['Application.ReadWrite.All']],
  },
  {
    name: 'provisioning jobs',
    feature: 'provisioning jobs: create, save credentials, start, restart',
    anyOf: [['Application.ReadWrite.OwnedBy'], ['Synchronization.ReadWrite.All'], ['Application.ReadWrite.All']],
  },
  {
    name: 'provisioning logs',
    feature: 'provisioning logs (quarantine details, failures by error code)',
    anyOf: [['AuditLog.Read.All', 'Directory.Read.All']],
  },
];

/** Payload of a JWT, not verified (we only read what the token says about itself). */
function jwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** One check per feature: which permission is missing and how to grant it. */
function permissionChecks(roles: readonly string[], clientId: string): Check[] {
  return PERMISSIONS.map(({ name: short, feature, anyOf }) => {
    const name = `permission: ${short}`;
    const met = anyOf.find((set) => set.every((r) => roles.includes(r)));
    if (met) return { name, ok: true, detail: `${met.join(' + ')} granted, for ${feature}`, fix: null };
    const closest = anyOf[0]!;
    const missing = closest.filter((r) => !roles.includes(r));
    const options = anyOf.map((s) => s.join(' + ')).join(' or ');
    return {
      name,
      ok: false,
      detail:
        `missing ${missing.join(' and ')}, needed for ${feature} (${options}); ` +
        `the token has: ${roles.join(', ') || 'no roles'}`,
      fix:
        `grant the Microsoft Graph application permission ${missing.join(' and ')} to app ${clientId} ` +
        '(Entra admin center → App registrations → API permissions → Add → Application permissions), ' +
        'then "Grant admin consent"',
    };
  });
}

const ok = (name: string, detail: string): Check => ({ name, ok: true, detail, fix: null });
const fail = (name: string, detail: string, fix: string): Check => ({ name, ok: false, detail, fix });
const isLoopback = (host: string) => ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host);
const REDIS_MIN = [6, 2];

function infoField(info: string, field: string): string | null {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? null;
}

async function redisChecks(cfg: Config, keys: SecretKey[] | null): Promise<Check[]> {
  const checks: Check[] = [];
  const redis = new Redis(cfg.REDIS_URL!, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // reported as a failed check
  const where = cfg.REDIS_URL!.replace(/\/\/[^@/]*@/, '//***@');
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    return [
      fail(
        'Redis reachable',
        `${where}: ${(e as Error).message}`,
        'start Redis or fix REDIS_URL (redis://host:6379, rediss:// for TLS, credentials in the URL)',
      ),
    ];
  }
  try {
    checks.push(ok('Redis reachable', where));
    const server = await redis.info('server');
    const version = infoField(server, 'redis_version') ?? '?';
    const [maj = 0, min = 0] = version.split('.').map(Number);
    checks.push(
      maj > REDIS_MIN[0]! || (maj === REDIS_MIN[0] && min >= REDIS_MIN[1]!)
        ? ok('Redis version', version)
        : fail(
            'Redis version',
            `${version} (BullMQ needs ${REDIS_MIN.join('.')} or later)`,
            `upgrade Redis to ${REDIS_MIN.join('.')}+ (7.x recommended)`,
          ),
    );
    const memory = await redis.info('memory');
    const policy = infoField(memory, 'maxmemory_policy') ?? '?';
    checks.push(
      policy === 'noeviction'
        ? ok('Redis maxmemory-policy', 'noeviction')
        : fail(
            'Redis maxmemory-policy',
            `${policy}: under memory pressure Redis would silently drop queue and ledger keys`,
            'redis-cli CONFIG SET maxmemory-policy noeviction (and set maxmemory-policy noeviction in redis.conf)',
          ),
    );
    const persistence = await redis.info('persistence');
    checks.push(
      infoField(persistence, 'aof_enabled') === '1'
        ? ok('Redis AOF persistence', 'appendonly yes')
        : fail(
            'Redis AOF persistence',
            'appendonly no: a Redis restart loses jobs accepted since the last snapshot',
            'redis-cli CONFIG SET appendonly yes (and appendonly yes in redis.conf)',
          ),
    );
    if (keys) checks.push(await sealedValueCheck(redis, cfg.BULLMQ_PREFIX, keys));
  } catch (e) {
    checks.push(
      fail(
        'Redis commands',
        (e as Error).message,
        'give provflow a Redis user allowed INFO, PING and the queue commands',
      ),
    );
  } finally {
    redis.disconnect();
  }
  return checks;
}

/** Opens one sealed value already in Redis, if there is one: the key is the one that sealed it. */
async function sealedValueCheck(redis: Redis, prefix: string, keys: SecretKey[]): Promise<Check> {
  const k = ledgerKeys(prefix);
  const name = 'secret key opens sealed values in Redis';
  for (const batchId of await redis.zrange(k.batches, 0, 50)) {
    const [field, sealed] = (await redis.hscan(k.secrets(batchId), '0', 'COUNT', 10))[1];
    if (!field || !sealed) continue;
    try {
      openSecretPairs(keys, sealed, `${batchId}/${field}`);
      return ok(name, `opened one of batch ${batchId}`);
    } catch {
      return fail(
        name,
        `a sealed value of batch ${batchId} does not open with PROVFLOW_SECRET_KEY` +
          (keys.length > 1 ? ' or PROVFLOW_SECRET_KEY_PREVIOUS' : ''),
        'set PROVFLOW_SECRET_KEY to the key the batch was enqueued with ' +
          '(after a rotation, the old one as PROVFLOW_SECRET_KEY_PREVIOUS)',
      );
    }
  }
  return ok(name, 'no sealed values in Redis to try');
}

function secretKeyChecks(cfg: Config): { checks: Check[]; keys: SecretKey[] | null } {
  const name = 'secret key';
  if (!cfg.PROVFLOW_SECRET_KEY) {
    return {
      checks: [
        fail(
          name,
          'PROVFLOW_SECRET_KEY is not set: credentials cannot be sealed before they reach Redis',
          'export PROVFLOW_SECRET_KEY=$(openssl rand -base64 32) (the same value for every provflow process)',
        ),
      ],
      keys: null,
    };
  }
  try {
    const keys = [parseSecretKey(cfg.PROVFLOW_SECRET_KEY, 'PROVFLOW_SECRET_KEY')];
    if (cfg.PROVFLOW_SECRET_KEY_PREVIOUS)
      keys.push(parseSecretKey(cfg.PROVFLOW_SECRET_KEY_PREVIOUS, 'PROVFLOW_SECRET_KEY_PREVIOUS'));
    const probe = [{ key: 'doctor', value: 'round-trip' }];
    const back = openSecretPairs(keys, sealSecretPairs(keys[0]!, probe, 'doctor/probe'), 'doctor/probe');
    if (back[0]?.value !== 'round-trip') throw new Error('a sealed value did not open to what was sealed');
    return {
      checks: [ok(name, `present; seal and open round trip ok${keys.length > 1 ? ' (previous key loaded too)' : ''}`)],
      keys,
    };
  } catch (e) {
    return {
      checks: [
        fail(
          name,
          (e as Error).message,
          'generate a key with: openssl rand -base64 32, and export it as PROVFLOW_SECRET_KEY',
        ),
      ],
      keys: null,
    };
  }
}

/** TLS handshake with the CAs provflow trusts (Node's plus NODE_EXTRA_CA_CERTS). */
async function tlsCheck(url: URL, env: NodeJS.ProcessEnv): Promise<Check> {
  const sim = isLoopback(url.hostname);
  const name = sim ? 'simulator CA trusted' : 'Graph TLS certificate trusted';
  if (url.protocol !== 'https:') return ok(name, `${url.origin} is plain http`);
  const error = await new Promise<string | null>((resolve) => {
    const socket = tlsConnect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: isLoopback(url.hostname) ? undefined : url.hostname,
      ca: trustedCertificates({ env }),
      timeout: 5000,
    });
    socket.once('secureConnect', () => {
      socket.end();
      resolve(null);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('no TLS answer within 5 s');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(`${e.code ?? ''} ${e.message}`.trim()));
  });
  if (!error) return ok(name, `${url.origin}: certificate chain trusted`);
  return fail(
    name,
    `${url.origin}: ${error}`,
    sim
      ? "export NODE_EXTRA_CA_CERTS=<the simulator's caCertPath> (printed by provflow simulate)"
      : 'trust the CA of your TLS-inspecting proxy: NODE_EXTRA_CA_CERTS=/path/to/proxy-ca.pem',
  );
}

/** Token, its roles, Graph reachability and the clock against Graph's Date header. */
async function graphChecks(cfg: Config, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const checks: Check[] = [];
  const base = new URL(cfg.GRAPH_BASE_URL);
  const authority = new URL(cfg.AZURE_AUTHORITY_HOST);
  checks.push(await tlsCheck(base, env));
  if (authority.origin !== base.origin) checks.push(await tlsCheck(authority, env));
  const dispatcher = createHttpAgent({ connectionsPerOrigin: 4, env });
  const secrets = [cfg.AZURE_CLIENT_SECRET];
  try {
    let token: string | null = null;
    try {
      const provider = createTokenProvider({
        tenantId: cfg.AZURE_TENANT_ID!,
        clientId: cfg.AZURE_CLIENT_ID!,
        clientSecret: cfg.AZURE_CLIENT_SECRET,
        certificatePath: cfg.AZURE_CLIENT_CERTIFICATE_PATH,
        authorityHost: cfg.AZURE_AUTHORITY_HOST,
        dispatcher,
        requestTimeoutMs: 10_000,
      });
      token = await provider.getToken();
      secrets.push(token);
      checks.push(ok('token acquired', `tenant ${cfg.AZURE_TENANT_ID}, client ${cfg.AZURE_CLIENT_ID}`));
    } catch (e) {
      checks.push(
        fail(
          'token acquired',
          redactString((e as Error).message, secrets),
          'check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or certificate ' +
            '(Entra → App registrations → Certificates & secrets)',
        ),
      );
    }
    if (token) {
      const claims = jwtPayload(token);
      const roles = Array.isArray(claims?.roles) ? (claims.roles as unknown[]).map(String) : null;
      if (!roles) {
        checks.push(
          fail(
            'token roles',
            'the token carries no roles claim: the app has no application permissions',
            'grant the permissions listed in docs/operators.md and "Grant admin consent"',
          ),
        );
      } else {
        checks.push(...permissionChecks(roles, cfg.AZURE_CLIENT_ID!));
      }
    }
    const url = `${cfg.GRAPH_BASE_URL.replace(/\/$/, '')}/applicationTemplates?$top=1`;
    const sent = Date.now();
    try {
      const res = await request(url, {
        dispatcher,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const received = Date.now();
      await res.body.dump();
      const status = res.statusCode;
      const reachable = token ? status < 400 : status === 401 || status < 400;
      checks.push(
        reachable
          ? ok('Graph reachable', `GET applicationTemplates: ${status} in ${received - sent} ms`)
          : fail(
              'Graph reachable',
              `GET applicationTemplates: HTTP ${status}`,
              'check GRAPH_BASE_URL and the permissions above',
            ),
      );
      const date = Date.parse(String(res.headers.date ?? ''));
      if (Number.isNaN(date)) {
        checks.push(fail('clock skew', 'Graph sent no Date header', 'check GRAPH_BASE_URL points at Graph'));
      } else {
        // Date has 1 s resolution: compare with the middle of the request, allow 1 s for that.
        const skewMs = date - (sent + received) / 2;
        const abs = Math.abs(skewMs);
        checks.push(
          abs <= 60_000
            ? ok(
                'clock skew',
                abs < 2000
                  ? "within 2 s of Graph's Date (1 s resolution)"
                  : `${(skewMs / 1000).toFixed(0)} s against Graph's Date`,
              )
            : fail(
                'clock skew',
                `this clock is ${(abs / 1000).toFixed(0)} s ${skewMs > 0 ? 'behind' : 'ahead of'} Graph: ` +
                  'tokens and Retry-After dates are misread',
                'synchronise the clock (e.g. timedatectl set-ntp true, or chrony)',
              ),
        );
      }
    } catch (e) {
      checks.push(
        fail(
          'Graph reachable',
          `${url}: ${redactString((e as Error).message, secrets)}`,
          'check GRAPH_BASE_URL, DNS, proxy and firewall rules',
        ),
      );
    }
  } finally {
    await dispatcher.close();
  }
  return checks;
}

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
  const checks: Check[] = [ok('configuration valid', `tenant ${cfg.AZURE_TENANT_ID}, Graph ${cfg.GRAPH_BASE_URL}`)];
  const secret = secretKeyChecks(cfg);
  checks.push(...(await redisChecks(cfg, secret.keys)));
  checks.push(...(await graphChecks(cfg, env)));
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
