/** `provflow doctor`, Graph side: TLS to Graph, the token and its application permissions, the clock. */
import { connect as tlsConnect } from 'node:tls';
import { request } from 'undici';
import type { Config } from '../config.ts';
import { createHttpAgent, trustedCertificates } from '../graph/http-agent.ts';
import { createTokenProvider } from '../graph/token-provider.ts';
import { redactString } from '../logger.ts';
import { fail, ok, type Check } from './doctor-check.ts';

const isLoopback = (host: string) => ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host);

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
function permissionChecks(roles: readonly string[], clientId: string, of: string): Check[] {
  return PERMISSIONS.map(({ name: short, feature, anyOf }) => {
    const name = `permission: ${short}${of}`;
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

/** One identity doctor checks: the `AZURE_*` one (name null), or a tenant of the tenants file. */
export interface DoctorTenant {
  name: string | null;
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificatePath?: string;
  certificatePem?: string;
  authorityHost: string;
  graphBaseUrl: string;
}

/** The `AZURE_*` identity of a single-tenant deployment. */
function envTenant(cfg: Config): DoctorTenant {
  return {
    name: null,
    tenantId: cfg.AZURE_TENANT_ID!,
    clientId: cfg.AZURE_CLIENT_ID!,
    clientSecret: cfg.AZURE_CLIENT_SECRET,
    certificatePath: cfg.AZURE_CLIENT_CERTIFICATE_PATH,
    authorityHost: cfg.AZURE_AUTHORITY_HOST,
    graphBaseUrl: cfg.GRAPH_BASE_URL,
  };
}

/**
 * TLS to each Graph and sign-in host once, then per tenant: its token and roles, Graph reachable
 * with it and the clock. With a tenants file each tenant's lines name it (`token acquired (t1)`).
 */
export async function graphChecks(
  cfg: Config,
  env: NodeJS.ProcessEnv,
  tenants: readonly DoctorTenant[] = [envTenant(cfg)],
): Promise<Check[]> {
  const checks: Check[] = [];
  const origins = new Set<string>();
  for (const t of tenants)
    for (const u of [new URL(t.graphBaseUrl), new URL(t.authorityHost)]) {
      if (origins.has(u.origin)) continue;
      origins.add(u.origin);
      checks.push(await tlsCheck(u, env));
    }
  for (const t of tenants) checks.push(...(await tenantChecks(t, env)));
  return checks;
}

/** Token, its roles, Graph reachability and the clock against Graph's Date header, for one tenant. */
async function tenantChecks(t: DoctorTenant, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const checks: Check[] = [];
  const of = t.name ? ` (${t.name})` : '';
  const dispatcher = createHttpAgent({ connectionsPerOrigin: 4, env });
  const secrets = [t.clientSecret];
  try {
    let token: string | null = null;
    try {
      const provider = createTokenProvider({
        tenantId: t.tenantId,
        clientId: t.clientId,
        clientSecret: t.clientSecret,
        certificatePath: t.certificatePath,
        certificatePem: t.certificatePem,
        authorityHost: t.authorityHost,
        dispatcher,
        requestTimeoutMs: 10_000,
      });
      token = await provider.getToken();
      secrets.push(token);
      checks.push(ok(`token acquired${of}`, `tenant ${t.tenantId}, client ${t.clientId}`));
    } catch (e) {
      checks.push(
        fail(
          `token acquired${of}`,
          redactString((e as Error).message, secrets),
          (t.name
            ? `check tenant ${t.name}'s tenantId, clientId and clientSecret or clientCertificate in PROVFLOW_TENANTS `
            : 'check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or certificate ') +
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
            `token roles${of}`,
            'the token carries no roles claim: the app has no application permissions',
            'grant the permissions listed in docs/operators.md and "Grant admin consent"',
          ),
        );
      } else {
        checks.push(...permissionChecks(roles, t.clientId, of));
      }
    }
    const url = `${t.graphBaseUrl.replace(/\/$/, '')}/applicationTemplates?$top=1`;
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
          ? ok(`Graph reachable${of}`, `GET applicationTemplates: ${status} in ${received - sent} ms`)
          : fail(
              `Graph reachable${of}`,
              `GET applicationTemplates: HTTP ${status}`,
              'check GRAPH_BASE_URL and the permissions above',
            ),
      );
      const date = Date.parse(String(res.headers.date ?? ''));
      if (Number.isNaN(date)) {
        checks.push(fail(`clock skew${of}`, 'Graph sent no Date header', 'check GRAPH_BASE_URL points at Graph'));
      } else {
        // Date has 1 s resolution: compare with the middle of the request, allow 1 s for that.
        const skewMs = date - (sent + received) / 2;
        const abs = Math.abs(skewMs);
        checks.push(
          abs <= 60_000
            ? ok(
                `clock skew${of}`,
                abs < 2000
                  ? "within 2 s of Graph's Date (1 s resolution)"
                  : `${(skewMs / 1000).toFixed(0)} s against Graph's Date`,
              )
            : fail(
                `clock skew${of}`,
                `this clock is ${(abs / 1000).toFixed(0)} s ${skewMs > 0 ? 'behind' : 'ahead of'} Graph: ` +
                  'tokens and Retry-After dates are misread',
                'synchronise the clock (e.g. timedatectl set-ntp true, or chrony)',
              ),
        );
      }
    } catch (e) {
      checks.push(
        fail(
          `Graph reachable${of}`,
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
