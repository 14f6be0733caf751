/**
 * MSAL's real code path against the Graph simulator's Entra endpoints: discovery of a
 * non-Microsoft authority, client secret and certificate, error classes, and trust of the
 * simulator's CA through NODE_EXTRA_CA_CERTS read at Agent construction (not process start).
 */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphError } from '../../src/graph/errors.ts';
import { createHttpAgent } from '../../src/graph/http-agent.ts';
import { createTokenProvider } from '../../src/graph/token-provider.ts';
import { startSimulator } from '../../src/dev/sim/index.ts';

type Sim = Awaited<ReturnType<typeof startSimulator>>;
let sim: Sim;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'fast', seed: 11, port: 0 });
});
afterAll(async () => {
  await sim?.close();
});

function selfSignedPem(): string {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '03';
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'provflow-sim-client' }]);
  cert.setIssuer([{ name: 'commonName', value: 'provflow-sim-client' }]);
  cert.sign(
    forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    forge.md.sha256.create(),
  );
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() + forge.pki.certificateToPem(cert);
}

async function tokenError(p: Promise<string>): Promise<GraphError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GraphError);
  return e as GraphError;
}

describe('MSAL against the simulator', () => {
  it('client secret, CA trusted via NODE_EXTRA_CA_CERTS read when the Agent is built; token reused', async () => {
    const dispatcher = createHttpAgent({ env: { NODE_EXTRA_CA_CERTS: sim.caCertPath } });
    const tp = createTokenProvider({
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      authorityHost: sim.authorityHost,
      dispatcher,
    });
    const before = sim.stats().tokensIssued;
    const t1 = await tp.getToken();
    const t2 = await tp.getToken();
    expect(t1).toBeTruthy();
    expect(t2).toBe(t1);
    expect(sim.stats().tokensIssued - before).toBe(1);
    // The token works on Graph.
    const res = await fetchWith(dispatcher, `${sim.graphBaseUrl}/applicationTemplates`, t1);
    expect(res).toBe(200);
    await dispatcher.close();
  });

  it('client certificate (private_key_jwt)', async () => {
    const dispatcher = createHttpAgent({ extraCaPem: sim.caCertPem, env: {} });
    const tp = createTokenProvider({
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      certificatePem: selfSignedPem(),
      authorityHost: sim.authorityHost,
      dispatcher,
    });
    expect(await tp.getToken()).toBeTruthy();
    await dispatcher.close();
  });

  it.each([
    ['wrong secret', { clientSecret: 'wrong-secret-value' }, 'invalid_client'],
    ['unknown client id', { clientId: '00000000-0000-0000-0000-000000000000' }, 'unauthorized_client'],
    ['unknown tenant', { tenantId: '99999999-0000-0000-0000-000000000000' }, 'invalid_request'],
  ])('%s → permanent GraphError %s, no secret in the message', async (_n, over, code) => {
    const dispatcher = createHttpAgent({ extraCaPem: sim.caCertPem, env: {} });
    const opts = {
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      authorityHost: sim.authorityHost,
      dispatcher,
      ...over,
    };
    const err = await tokenError(createTokenProvider(opts).getToken());
    expect(err.errorClass).toBe('permanent');
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/AADSTS\d+/);
    expect(err.message).not.toContain(opts.clientSecret);
    await dispatcher.close();
  });

  it('without the simulator CA: permanent, with a hint about NODE_EXTRA_CA_CERTS', async () => {
    const dispatcher = createHttpAgent({ env: {} });
    const tp = createTokenProvider({
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      authorityHost: sim.authorityHost,
      dispatcher,
    });
    const err = await tokenError(tp.getToken());
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toContain('NODE_EXTRA_CA_CERTS');
    await dispatcher.close();
  });
});

async function fetchWith(dispatcher: ReturnType<typeof createHttpAgent>, url: string, token: string): Promise<number> {
  const { fetch } = await import('undici');
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, dispatcher });
  await res.arrayBuffer();
  return res.status;
}
