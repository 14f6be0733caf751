/**
 * The real MSAL code path (discovery, client credentials with secret and certificate, cache)
 * against a minimal local HTTPS Entra stand-in whose CA is trusted only through our Agent.
 */
import { constants, createPublicKey, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import forge from 'node-forge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphError } from '../../src/graph/errors.ts';
import { createHttpAgent } from '../../src/graph/http-agent.ts';
import { createTokenProvider } from '../../src/graph/token-provider.ts';
import { createLogger } from '../../src/logger.ts';
import { getTlsMaterial } from '../../src/dev/sim/tls.ts';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'client-app';
const SECRET = 'S3cr3t-Value~never-logged';

function makeClientCert() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '02';
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'provflow-client' }]);
  cert.setIssuer([{ name: 'commonName', value: 'provflow-client' }]);
  cert.sign(
    forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    forge.md.sha256.create(),
  );
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const clientCert = makeClientCert();
const certThumb256 = new X509Certificate(clientCert.certPem).fingerprint256.replaceAll(':', '');

interface TokenRequest {
  form: URLSearchParams;
  assertionHeader?: Record<string, unknown>;
  assertionValid?: boolean;
}
let tokenRequests: TokenRequest[];
let discoveryHits: number;
let mode: 'ok' | '503';
let server: https.Server;
let authorityHost: string;

function b64url(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

beforeAll(async () => {
  const tlsm = getTlsMaterial();
  server = https.createServer({ key: tlsm.serverKeyPem, cert: tlsm.serverCertPem }, (req, res) => {
    const url = new URL(req.url ?? '/', authorityHost);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
      discoveryHits++;
      return json(200, {
        issuer: `${authorityHost}/${TENANT}/v2.0`,
        token_endpoint: `${authorityHost}/${TENANT}/oauth2/v2.0/token`,
        authorization_endpoint: `${authorityHost}/${TENANT}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${authorityHost}/${TENANT}/oauth2/v2.0/logout`,
        jwks_uri: `${authorityHost}/${TENANT}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'token'],
      });
    }
    if (req.method === 'POST' && url.pathname === `/${TENANT}/oauth2/v2.0/token`) {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const entry: TokenRequest = { form };
        tokenRequests.push(entry);
        if (mode === '503')
          return json(503, { error: 'temporarily_unavailable', error_description: 'AADSTS90033: busy' });
        const assertion = form.get('client_assertion');
        if (assertion) {
          const [h, p, sig] = assertion.split('.') as [string, string, string];
          entry.assertionHeader = JSON.parse(b64url(h).toString());
          // MSAL 7 signs with PS256 (RSA-PSS) when given a SHA-256 thumbprint, RS256 with SHA-1.
          const alg = String(entry.assertionHeader?.alg);
          const key = createPublicKey(clientCert.certPem);
          entry.assertionValid =
            alg === 'PS256'
              ? verify(
                  'sha256',
                  Buffer.from(`${h}.${p}`),
                  { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
                  b64url(sig),
                )
              : alg === 'RS256' && verify('sha256', Buffer.from(`${h}.${p}`), key, b64url(sig));
        }
        const secretOk = form.get('client_secret') === SECRET;
        if (form.get('grant_type') !== 'client_credentials' || (!secretOk && !entry.assertionValid)) {
          return json(401, {
            error: 'invalid_client',
            error_description: 'AADSTS7000215: Invalid client secret provided.',
            error_codes: [7000215],
          });
        }
        json(200, {
          token_type: 'Bearer',
          expires_in: 3600,
          ext_expires_in: 3600,
          access_token: `at-${tokenRequests.length}.eyJhbGciOi`,
        });
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  tokenRequests = [];
  discoveryHits = 0;
  mode = 'ok';
});

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'trace', destination }) };
}

const trusted = () => createHttpAgent({ extraCaPem: getTlsMaterial().caCertPem, env: {} });

describe('client secret', () => {
  it('gets a token for the Graph scope through our dispatcher, caches it, and never logs it', async () => {
    const { lines, logger } = capture();
    const dispatcher = trusted();
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost,
      dispatcher,
      logger,
    });
    const token = await tp.getToken();
    expect(token).toMatch(/^at-1\./);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.form.get('scope')).toContain('https://graph.microsoft.com/.default');
    expect(tokenRequests[0]!.form.get('client_id')).toBe(CLIENT);
    expect(discoveryHits).toBe(1);
    expect(await tp.getToken()).toBe(token);
    expect(tokenRequests).toHaveLength(1);
    const out = lines.join('');
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(token);
    await dispatcher.close();
  });

  it('concurrent callers on a cold cache share one token request', async () => {
    const dispatcher = trusted();
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost,
      dispatcher,
    });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => tp.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(tokenRequests).toHaveLength(1);
    await dispatcher.close();
  });

  it('forceRefresh bypasses the caches', async () => {
    const dispatcher = trusted();
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost,
      dispatcher,
    });
    const a = await tp.getToken();
    const b = await tp.getToken({ forceRefresh: true });
    expect(b).not.toBe(a);
    expect(tokenRequests).toHaveLength(2);
    // A burst of 401s shares one forced refresh.
    const forced = await Promise.all(Array.from({ length: 10 }, () => tp.getToken({ forceRefresh: true })));
    expect(new Set(forced).size).toBe(1);
    expect(tokenRequests).toHaveLength(3);
    expect(await tp.getToken()).toBe(forced[0]);
    await dispatcher.close();
  });

  it('a wrong secret is a permanent GraphError naming invalid_client, without the secret', async () => {
    const { lines, logger } = capture();
    const dispatcher = trusted();
    const wrong = 'Wr0ng-secret-value';
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: wrong,
      authorityHost,
      dispatcher,
      logger,
    });
    const err = await tp.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).errorClass).toBe('permanent');
    expect((err as GraphError).code).toBe('invalid_client');
    expect((err as GraphError).message).toContain('AADSTS7000215');
    expect((err as GraphError).message).not.toContain(wrong);
    expect(lines.join('')).not.toContain(wrong);
    await dispatcher.close();
  });

  it('a 503 from the token endpoint is transient', async () => {
    mode = '503';
    const dispatcher = trusted();
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost,
      dispatcher,
    });
    const err = await tp.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).errorClass).toBe('transient');
    await dispatcher.close();
  });

  it('without the CA the TLS failure is permanent and says so', async () => {
    const dispatcher = createHttpAgent({ env: {} });
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost,
      dispatcher,
    });
    const err = await tp.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).errorClass).toBe('permanent');
    expect((err as GraphError).message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect((err as GraphError).message).toContain('NODE_EXTRA_CA_CERTS');
    await dispatcher.close();
  });
});

describe('client certificate', () => {
  it('signs a client assertion with x5t#S256 = SHA-256 thumbprint, verifiable with the certificate', async () => {
    const dispatcher = trusted();
    const tp = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      certificatePem: clientCert.keyPem + clientCert.certPem,
      authorityHost,
      dispatcher,
    });
    expect(await tp.getToken()).toMatch(/^at-/);
    const req = tokenRequests[0]!;
    expect(req.form.get('client_secret')).toBeNull();
    expect(req.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(req.assertionHeader?.alg).toBe('PS256');
    expect(req.assertionValid).toBe(true);
    expect(b64url(String(req.assertionHeader?.['x5t#S256'])).toString('hex').toUpperCase()).toBe(certThumb256);
    await dispatcher.close();
  });
});
