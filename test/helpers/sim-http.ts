/**
 * Raw HTTP against an in-process Graph simulator (fast profile): a token from its Entra
 * endpoint, then `call(method, path, body)` with Graph's strict JSON. For tests of the
 * simulator's own answers; provflow's client has test/helpers/sim-graph.ts.
 */
import { Agent, fetch } from 'undici';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/dev/sim/index.ts';

export interface SimCall {
  status: number;
  headers: Headers;
  json: unknown;
}

export interface SimHttp {
  sim: SimulatorHandle;
  call(method: string, path: string, body?: unknown): Promise<SimCall>;
  /** The same, with the body sent as given (Microsoft's example text). */
  callRaw(method: string, path: string, rawBody: string): Promise<SimCall>;
  close(): Promise<void>;
}

export async function startSimHttp(o: SimulatorOptions = {}): Promise<SimHttp> {
  const sim = await startSimulator({ profile: 'fast', seed: 11, ...o });
  const agent = new Agent({ connect: { ca: sim.caCertPem } });
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sim.clientId,
    client_secret: sim.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  });
  const tok = await fetch(`${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: form,
    dispatcher: agent,
  });
  const { access_token } = (await tok.json()) as { access_token: string };
  const callRaw = async (method: string, path: string, rawBody?: string): Promise<SimCall> => {
    const res = await fetch(path.startsWith('https://') ? path : `${sim.graphBaseUrl}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: rawBody,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers as unknown as Headers, json: text ? JSON.parse(text) : null };
  };
  return {
    sim,
    call: (method, path, body) => callRaw(method, path, body === undefined ? undefined : JSON.stringify(body)),
    callRaw: (method, path, rawBody) => callRaw(method, path, rawBody),
    async close() {
      await agent.close();
      await sim.close();
    },
  };
}

/** Instantiate a catalogue template and create its job: the service principal and job ids. */
export async function instanceWithJob(
  h: SimHttp,
  templateId: string,
  displayName: string,
): Promise<{ spId: string; jobId: string }> {
  const inst = await h.call('POST', `/applicationTemplates/${templateId}/instantiate`, { displayName });
  const spId = (inst.json as { servicePrincipal: { objectId: string } }).servicePrincipal.objectId;
  const tpl = (await h.call('GET', `/servicePrincipals/${spId}/synchronization/templates`)).json as {
    value: { id: string }[];
  };
  const job = await h.call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: tpl.value[0]!.id });
  return { spId, jobId: (job.json as { id: string }).id };
}
