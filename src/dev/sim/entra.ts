/**
 * Entra's side of the simulator: discovery documents and the client-credentials token endpoint
 * (secret, Basic auth or client assertion), each tenant checking its own app registration.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http.ts';
import type { TenantRegistry } from './tenants.ts';

/** An access token the simulator issued: looked up on each Graph request, never verified. */
export interface IssuedToken {
  appId: string;
  tenantId: string;
  expiresAt: number;
}

/** Scopes a client-credentials token may ask for: Graph's `/.default`, by URL or by app id. */
const GRAPH_SCOPES = new Set(['https://graph.microsoft.com/.default', '00000003-0000-0000-c000-000000000000/.default']);

/** What the simulator's app registration is granted unless `tokenRoles` says otherwise. */
export const SIM_TOKEN_ROLES = [
  'Application.ReadWrite.All',
  'Synchronization.ReadWrite.All',
  'AuditLog.Read.All',
  'Directory.Read.All',
];

/** JWT-shaped like Entra's (clients can read `roles`), unsigned: the simulator looks tokens up, never verifies. */
function simAccessToken(o: { tenantId: string; appId: string; roles: string[]; lifetimeSec: number }): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: 'https://graph.microsoft.com',
    iss: `https://sts.windows.net/${o.tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + o.lifetimeSec,
    appid: o.appId,
    tid: o.tenantId,
    roles: o.roles,
  };
  return `${b64({ typ: 'JWT', alg: 'none', kid: 'sim' })}.${b64(claims)}.${randomBytes(24).toString('base64url')}`;
}

/** `/{tenant}/…` paths Entra answers: OpenID discovery, the token endpoint, instance discovery, keys. */
const ENTRA_PATH = new RegExp(
  '^/([^/]+)/(v2\\.0/\\.well-known/openid-configuration|oauth2/v2\\.0/token|' +
    'discovery/instance|discovery/v2\\.0/keys)$',
);

/** Answers discovery and token requests (`/{tenant}/…`); false when the URL is not Entra's. */
export async function handleEntra(
  reg: TenantRegistry,
  tokens: Map<string, IssuedToken>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const origin = url.origin;
  const m = ENTRA_PATH.exec(url.pathname);
  if (!m) return false;
  const tenant = m[1]!;
  if (m[2]!.startsWith('v2.0/.well-known')) {
    sendJson(res, 200, {
      token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${origin}/${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${origin}/oidc/userinfo`,
      authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    });
    return true;
  }
  if (m[2] === 'discovery/v2.0/keys') {
    sendJson(res, 200, { keys: [] });
    return true;
  }
  if (m[2] === 'discovery/instance') {
    const host = new URL(origin).host;
    sendJson(res, 200, {
      tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
    return true;
  }
  // Token endpoint: client credentials with a secret or a client assertion (certificate).
  if (req.method !== 'POST') return false;
  const form = new URLSearchParams(await readBody(req));
  const entraError = (status: number, error: string, code: number, description: string) =>
    sendJson(res, status, {
      error,
      error_description:
        `AADSTS${code}: ${description} Trace ID: ${randomUUID()} ` +
        `Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    });
  if (form.get('grant_type') !== 'client_credentials') {
    entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    return true;
  }
  // The tenant in the URL picks the directory and its app registration: another tenant's
  // client id or secret is refused here, as Entra would.
  const tn = reg.find(tenant);
  if (!tn) {
    entraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    return true;
  }
  const { clientId, clientSecret, tenantId } = tn;
  // client_secret_basic (advertised by discovery): id and secret, each form-encoded, in Basic auth.
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  let basicId: string | null = null;
  let basicSecret: string | null = null;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const dec = (v: string) => {
      try {
        return decodeURIComponent(v.replace(/\+/g, ' '));
      } catch {
        return v;
      }
    };
    if (colon > 0) {
      basicId = dec(decoded.slice(0, colon));
      basicSecret = dec(decoded.slice(colon + 1));
    }
  }
  const requestedClient = form.get('client_id') ?? basicId;
  if (requestedClient !== clientId || (basicId !== null && basicId !== requestedClient)) {
    const what = `Application with identifier '${requestedClient}' was not found in the directory.`;
    entraError(400, 'unauthorized_client', 700016, what);
    return true;
  }
  // Client credentials need a resource's /.default scope; only Graph is known here.
  const scope = form.get('scope');
  if (!scope || !GRAPH_SCOPES.has(scope.trim())) {
    entraError(
      400,
      'invalid_scope',
      70011,
      `The provided value for the input parameter 'scope' is not valid. The scope ${scope ?? ''} is not valid.`,
    );
    return true;
  }
  const assertion = form.get('client_assertion');
  if (assertion) {
    const payload = (() => {
      try {
        return JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString()) as {
          iss?: string;
          sub?: string;
          exp?: number;
        };
      } catch {
        return null;
      }
    })();
    if (!payload || payload.iss !== clientId || payload.sub !== clientId) {
      entraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
      return true;
    }
  } else if (
    (form.get('client_secret') ?? basicSecret) !== clientSecret ||
    (basicSecret !== null && form.get('client_secret') !== null)
  ) {
    entraError(
      401,
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, ' +
        'not the client secret ID.',
    );
    return true;
  }
  const roles = reg.settings.tokenRoles ?? SIM_TOKEN_ROLES;
  const token = simAccessToken({ tenantId, appId: clientId, roles, lifetimeSec: reg.settings.tokenLifetimeSec });
  tokens.set(token, { appId: clientId, tenantId, expiresAt: Date.now() + reg.settings.tokenLifetimeSec * 1000 });
  tn.state.stats.tokensIssued++;
  sendJson(res, 200, {
    token_type: 'Bearer',
    expires_in: reg.settings.tokenLifetimeSec,
    ext_expires_in: reg.settings.tokenLifetimeSec,
    access_token: token,
  });
  return true;
}
