/**
 * App-only Graph tokens from Entra via MSAL's client-credentials flow (secret or certificate).
 *
 * One provider (one ConfidentialClientApplication, one in-memory token cache) per tenant: create
 * it once in the composition root and share it. MSAL talks to the network through our undici
 * dispatcher (`createMsalNetworkClient`), so the same trust store (simulator CA included) and
 * keep-alive pool serve the token endpoint and Graph.
 *
 * The token and the client secret are never logged and never appear in error messages.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  AuthError,
  ConfidentialClientApplication,
  LogLevel,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import { fetch, type Dispatcher } from 'undici';
import { silentLogger, redactString, type Logger } from '../logger.ts';
import { GraphError, type ErrorClass } from './errors.ts';
import { classifyTokenFailure, networkErrorKind } from './classify-error.ts';

/** The Graph scope; the same against the simulator (it issues tokens for this audience). */
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** Supplies bearer tokens for one tenant. */
export interface TokenProvider {
  /**
   * A valid access token. Served from memory until 5 minutes before expiry; concurrent callers
   * share one request. `forceRefresh` bypasses every cache (after a 401).
   */
  getToken(opts?: { forceRefresh?: boolean }): Promise<string>;
}

/** Options for `createTokenProvider`. Exactly one of `clientSecret` / `certificatePath` / `certificatePem`. */
export interface TokenProviderOptions {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM file holding the private key and the certificate (leaf first), as AZURE_CLIENT_CERTIFICATE_PATH. */
  certificatePath?: string;
  /** The same PEM content, inline. */
  certificatePem?: string;
  /** Passphrase of an encrypted private key (AZURE_CLIENT_CERTIFICATE_PASSWORD). */
  certificatePassword?: string;
  /** e.g. `https://login.microsoftonline.com` or the simulator's `https://127.0.0.1:PORT`. */
  authorityHost?: string;
  /** The shared undici Agent (createHttpAgent). */
  dispatcher: Dispatcher;
  logger?: Logger;
  /** Per token-endpoint request. Default 15 s. */
  requestTimeoutMs?: number;
  scopes?: string[];
}

/** Hosts MSAL already knows (instance discovery works); any other host goes into `knownAuthorities`. */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'sts.windows.net',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoftonline.de',
]);

const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * MSAL's INetworkModule over undici fetch and our dispatcher. MSAL's built-in client uses the
 * global fetch, which would not trust the simulator's CA (read at construction by our Agent).
 * Error responses are returned, not thrown: MSAL turns `{error, error_description}` bodies into
 * ServerError itself. Network failures are thrown as AuthError (MSAL rethrows AuthErrors as-is,
 * but replaces anything else with a bare `network_error`), keeping the socket error as `cause`
 * so the classifier can still see ECONNRESET, TLS trust failures, timeouts.
 */
function createMsalNetworkClient(opts: {
  dispatcher: Dispatcher;
  timeoutMs: number;
  /** Sees every network failure: MSAL swallows those during discovery (see createTokenProvider). */
  onNetworkError?: (err: unknown) => void;
}): INetworkModule {
  async function send<T>(
    method: 'GET' | 'POST',
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    const where = safeUrl(url);
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: options?.headers,
        body: method === 'POST' ? (options?.body ?? '') : undefined,
        dispatcher: opts.dispatcher,
        signal: AbortSignal.timeout(timeout ?? opts.timeoutMs),
      });
    } catch (err) {
      opts.onNetworkError?.(err);
      const kind = networkErrorKind(err) ?? 'unknown';
      const authErr = new AuthError(
        'network_error',
        options?.correlationId ?? '',
        `${method} ${where} failed: ${kind}`,
      );
      (authErr as { cause?: unknown }).cause = err;
      throw authErr;
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    const text = await res.text();
    let body: unknown = {};
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new AuthError(
          'token_parsing_error',
          options?.correlationId ?? '',
          `${method} ${where}: HTTP ${res.status}, body is not JSON`,
        );
      }
    }
    return { headers, body: body as T, status: res.status };
  }
  return {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

/** Origin and path only: token URLs carry no secrets today, but query strings are not ours to log. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** What MSAL needs from a certificate credential. */
export interface ClientCertificate {
  /** PKCS#8 PEM (MSAL signs the client assertion with it). */
  privateKeyPem: string;
  /** The certificate chain as PEM, leaf first (sent as x5c). */
  certificatePem: string;
  /** Hex SHA-256 of the leaf's DER (x5t#S256), what MSAL 7 wants as `thumbprintSha256`. */
  thumbprintSha256: string;
  /** Hex SHA-1 (x5t), only for old ADFS; MSAL 7 deprecates it. */
  thumbprintSha1: string;
  notAfter: Date;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

/**
 * Reads a PEM holding a private key and its certificate (the AZURE_CLIENT_CERTIFICATE_PATH
 * format), normalises the key to PKCS#8 and computes both thumbprints. Errors name the file and
 * say what is wrong, never print key material.
 */
export function loadClientCertificateFile(src: {
  path?: string;
  pem?: string;
  passphrase?: string;
}): ClientCertificate {
  const label = src.path ?? 'inline certificate';
  let pem: string;
  try {
    pem = src.pem ?? readFileSync(src.path ?? '', 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read client certificate ${label}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const certs = pem.match(PEM_CERT) ?? [];
  const keyMatch = PEM_KEY.exec(pem);
  if (certs.length === 0) throw new Error(`client certificate ${label}: no "BEGIN CERTIFICATE" block`);
  if (!keyMatch)
    throw new Error(
      `client certificate ${label}: no "BEGIN PRIVATE KEY" block (the file must hold the key and the certificate)`,
    );
  let key;
  try {
    key = createPrivateKey({ key: keyMatch[0], format: 'pem', passphrase: src.passphrase });
  } catch {
    throw new Error(
      `client certificate ${label}: private key cannot be read` +
        (keyMatch[1]?.startsWith('ENCRYPTED') ? ' (encrypted: set AZURE_CLIENT_CERTIFICATE_PASSWORD)' : ''),
    );
  }
  const leaf = new X509Certificate(certs[0] ?? '');
  if (!leaf.checkPrivateKey(key))
    throw new Error(`client certificate ${label}: the private key does not belong to the first certificate`);
  return {
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: certs.join('\n'),
    thumbprintSha256: createHash('sha256').update(leaf.raw).digest('hex').toUpperCase(),
    thumbprintSha1: createHash('sha1').update(leaf.raw).digest('hex').toUpperCase(),
    notAfter: new Date(leaf.validTo),
  };
}

/** Builds MSAL's configuration; exported for tests (never log its result: it holds the secret). */
export function buildMsalConfiguration(
  opts: TokenProviderOptions,
  logger: Logger,
  onNetworkError?: (err: unknown) => void,
): Configuration {
  const authorityHost = (opts.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const host = new URL(authorityHost).host.toLowerCase();
  const credentialCount = [opts.clientSecret, opts.certificatePath, opts.certificatePem].filter(Boolean).length;
  if (credentialCount !== 1) {
    throw new GraphError(
      `token provider for tenant ${opts.tenantId}: give exactly one of a client secret (AZURE_CLIENT_SECRET) ` +
        'or a certificate (AZURE_CLIENT_CERTIFICATE_PATH)',
      tokenDetails(opts.tenantId, 'permanent', null, 'invalid_configuration'),
    );
  }
  let cert: ClientCertificate | null = null;
  if (opts.certificatePath || opts.certificatePem) {
    try {
      cert = loadClientCertificateFile({
        path: opts.certificatePath,
        pem: opts.certificatePem,
        passphrase: opts.certificatePassword,
      });
    } catch (err) {
      throw new GraphError(
        (err as Error).message,
        tokenDetails(opts.tenantId, 'permanent', null, 'invalid_certificate'),
      );
    }
    if (cert.notAfter.getTime() < Date.now()) {
      logger.warn({ tenantId: opts.tenantId, notAfter: cert.notAfter.toISOString() }, 'client certificate has expired');
    }
  }
  return {
    auth: {
      clientId: opts.clientId,
      authority: `${authorityHost}/${opts.tenantId}`,
      // A non-Microsoft host (the simulator) must be declared, or MSAL asks Microsoft's instance
      // discovery about it and fails; declared, MSAL reads {authority}/v2.0/.well-known/openid-configuration.
      ...(MICROSOFT_AUTHORITY_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
      ...(opts.clientSecret ? { clientSecret: opts.clientSecret } : {}),
      ...(cert
        ? {
            clientCertificate: {
              // MSAL 7 prefers SHA-256 (x5t#S256); SHA-1 `thumbprint` is deprecated, kept for old ADFS only.
              thumbprintSha256: cert.thumbprintSha256,
              privateKey: cert.privateKeyPem,
              // Sending the chain enables subject-name/issuer auth; harmless otherwise.
              x5c: cert.certificatePem,
            },
          }
        : {}),
    },
    system: {
      networkClient: createMsalNetworkClient({
        dispatcher: opts.dispatcher,
        timeoutMs: opts.requestTimeoutMs ?? 15_000,
        onNetworkError,
      }),
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message) => {
          if (level <= LogLevel.Error) logger.error({ msal: true }, message);
          // MSAL warns about expected things in this flow (e.g. "No client info in response" for
          // client credentials): keep them out of operators' warning stream.
          else logger.info({ msal: true }, message);
        },
      },
    },
  };
}

function tokenDetails(tenantId: string, errorClass: ErrorClass, status: number | null, code: string | null) {
  return {
    errorClass,
    status,
    code,
    method: 'POST',
    path: `/${tenantId}/oauth2/v2.0/token`,
    requestId: null,
    clientRequestId: null,
    retryAfterMs: null,
  };
}

/**
 * Turns whatever MSAL threw into a classified GraphError without secrets. `networkFailure` is
 * the last socket-level error our network client saw during this acquisition: MSAL drops it
 * when discovery fails (it reports a bare `endpoints_resolution_error`).
 */
function toTokenError(err: unknown, opts: TokenProviderOptions, networkFailure: unknown): GraphError {
  const e = err as { errorCode?: string; errorMessage?: string; status?: number; name?: string; message?: string };
  const code = typeof e?.errorCode === 'string' && e.errorCode ? e.errorCode : null;
  const status = typeof e?.status === 'number' ? e.status : null;
  const kind = networkErrorKind(err) ?? (networkFailure ? networkErrorKind(networkFailure) : null);
  const errorClass = classifyTokenFailure({
    oauthCode: code,
    configurationError: e?.name === 'ClientConfigurationError',
    status,
    networkErrorKind: kind,
  });
  const raw = (e?.errorMessage || e?.message || String(err)).split('\n')[0] ?? '';
  const text = redactString(raw, [opts.clientSecret, opts.certificatePassword]);
  const cause = kind && !raw.includes(kind) ? ` [network: ${kind}]` : '';
  const hint =
    code === 'invalid_client'
      ? ' (check AZURE_CLIENT_ID and the secret/certificate)'
      : errorClass === 'permanent' && kind && status === null
        ? ' (the login server certificate is not trusted: set NODE_EXTRA_CA_CERTS to its CA)'
        : '';
  return new GraphError(
    `token request for tenant ${opts.tenantId}, client ${opts.clientId} failed: ` +
      `${code ?? e?.name ?? 'error'}: ${text}${cause}${hint}`,
    tokenDetails(opts.tenantId, errorClass, status, code),
  );
}

/** A token provider for one tenant. */
export function createTokenProvider(opts: TokenProviderOptions): TokenProvider {
  const logger = opts.logger ?? silentLogger();
  let lastNetworkFailure: unknown = null;
  const app = new ConfidentialClientApplication(
    buildMsalConfiguration(opts, logger, (err) => (lastNetworkFailure = err)),
  );
  const scopes = opts.scopes ?? [GRAPH_SCOPE];
  let cached: { token: string; refreshAtMs: number } | null = null;
  let inflight: Promise<string> | null = null;
  let inflightForced: Promise<string> | null = null;

  async function acquire(forceRefresh: boolean): Promise<string> {
    const started = Date.now();
    lastNetworkFailure = null;
    try {
      const result = await app.acquireTokenByClientCredential({ scopes, skipCache: forceRefresh });
      if (!result?.accessToken) throw new Error('MSAL returned no access token');
      const expiresMs = result.expiresOn ? result.expiresOn.getTime() : Date.now() + 30 * 60_000;
      cached = { token: result.accessToken, refreshAtMs: Math.max(Date.now(), expiresMs - REFRESH_MARGIN_MS) };
      logger.debug(
        {
          tenantId: opts.tenantId,
          fromCache: result.fromCache,
          expiresOn: result.expiresOn?.toISOString(),
          ms: Date.now() - started,
        },
        'graph token acquired',
      );
      return result.accessToken;
    } catch (err) {
      const tokenErr = toTokenError(err, opts, lastNetworkFailure);
      logger.warn({ tenantId: opts.tenantId, errorClass: tokenErr.errorClass, code: tokenErr.code }, tokenErr.message);
      throw tokenErr;
    }
  }

  return {
    getToken({ forceRefresh = false } = {}) {
      if (forceRefresh) {
        // Many calls see the same revoked token at once: they share one forced refresh.
        if (inflightForced) return inflightForced;
        cached = null;
        const p = acquire(true).finally(() => {
          if (inflightForced === p) inflightForced = null;
        });
        inflightForced = p;
        inflight = p;
        return p;
      }
      if (cached && Date.now() < cached.refreshAtMs) return Promise.resolve(cached.token);
      if (inflight) return inflight;
      const p = acquire(false).finally(() => {
        if (inflight === p) inflight = null;
      });
      inflight = p;
      return p;
    },
  };
}
