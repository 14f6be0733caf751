/**
 * The most honest sign-in test: the real, unmodified `@azure/msal-node` (its default network
 * client, Node's fetch) in a fresh process that trusts the simulator's CA only through
 * NODE_EXTRA_CA_CERTS, exactly as a user would run provflow against `provflow simulate`.
 * The second acquisition must come from MSAL's cache: no second token request reaches Entra.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/dev/sim/index.ts';

const run = promisify(execFile);

const CHILD = `
import { ConfidentialClientApplication } from '@azure/msal-node';
const e = process.env;
const host = new URL(e.SIM_AUTHORITY_HOST).host;
const cca = new ConfidentialClientApplication({
  auth: { clientId: e.SIM_CLIENT_ID, clientSecret: e.SIM_CLIENT_SECRET, authority: e.SIM_AUTHORITY_HOST + '/' + e.SIM_TENANT_ID, knownAuthorities: [host] },
});
const request = { scopes: ['https://graph.microsoft.com/.default'] };
const first = await cca.acquireTokenByClientCredential(request);
const second = await cca.acquireTokenByClientCredential(request);
const graph = await fetch(e.SIM_GRAPH + '/applicationTemplates', { headers: { authorization: 'Bearer ' + first.accessToken } });
let wrong = null;
try {
  const bad = new ConfidentialClientApplication({ auth: { clientId: e.SIM_CLIENT_ID, clientSecret: 'not-the-secret', authority: e.SIM_AUTHORITY_HOST + '/' + e.SIM_TENANT_ID, knownAuthorities: [host] } });
  await bad.acquireTokenByClientCredential(request);
} catch (err) { wrong = { name: err.name, errorCode: err.errorCode, message: String(err.errorMessage ?? err.message).slice(0, 120) }; }
process.stdout.write(JSON.stringify({
  first: { fromCache: first.fromCache, tokenType: first.tokenType, sameToken: first.accessToken === second.accessToken, expiresOn: first.expiresOn },
  second: { fromCache: second.fromCache },
  graphStatus: graph.status,
  wrong,
}));
`;

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'fast', seed: 5 });
});
afterAll(async () => {
  await sim?.close();
});

describe('real @azure/msal-node in a child process (NODE_EXTRA_CA_CERTS)', () => {
  it('acquires a token by client credentials, then serves it from cache', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: process.cwd(),
      timeout: 30_000,
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: sim.caCertPath,
        SIM_AUTHORITY_HOST: sim.authorityHost,
        SIM_TENANT_ID: sim.tenantId,
        SIM_CLIENT_ID: sim.clientId,
        SIM_CLIENT_SECRET: sim.clientSecret,
        SIM_GRAPH: sim.graphBaseUrl,
      },
    });
    const out = JSON.parse(stdout) as {
      first: { fromCache: boolean; tokenType: string; sameToken: boolean; expiresOn: string };
      second: { fromCache: boolean };
      graphStatus: number;
      wrong: { name: string; errorCode: string; message: string } | null;
    };
    expect(out.first).toMatchObject({ fromCache: false, tokenType: 'Bearer', sameToken: true });
    expect(Date.parse(out.first.expiresOn) - Date.now()).toBeGreaterThan(50 * 60_000); // ~3599 s
    expect(out.second.fromCache).toBe(true);
    expect(out.graphStatus).toBe(200);
    // A wrong secret surfaces Entra's AADSTS7000215 through MSAL's ServerError.
    expect(out.wrong).toMatchObject({ errorCode: 'invalid_client' });
    expect(out.wrong!.message).toMatch(/AADSTS7000215/);
    // Exactly one successful token request for two acquisitions (plus the failed one).
    expect(sim.stats().tokensIssued).toBe(1);
  });
});
