/**
 * Raw HTTPS calls to an in-process Graph simulator (fast profile): a token by client
 * credentials, `call(method, path, body)` as strict JSON, `onboard` (instantiate → job →
 * secrets → start) and `getJob`. For tests of the simulator's own behaviour, below provflow's client.
 */
import { Agent, fetch } from 'undici';
import { expect } from 'vitest';
import {
  instantiateResponseSchema,
  objectIdOf,
  synchronizationJobSchema,
  type SynchronizationJob,
} from '../../src/graph/schemas.ts';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/dev/sim/index.ts';
import { AWS_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';

export interface SimCall {
  status: number;
  headers: Headers;
  json: unknown;
}

export interface SimHttp {
  sim: SimulatorHandle;
  call(method: string, path: string, body?: unknown): Promise<SimCall>;
  /** POST to the simulator's `/_sim/{sub}` control door. */
  control(method: 'GET' | 'POST', sub: string, body?: unknown): Promise<SimCall>;
  /** Instantiate AWS as `displayName`, create its job, save ClientSecret + `secretToken`, start. */
  onboard(displayName: string, secretToken: string): Promise<{ appId: string; spId: string; jobId: string }>;
  getJob(spId: string, jobId: string): Promise<SynchronizationJob>;
  close(): Promise<void>;
}

export async function startSimHttp(o: SimulatorOptions = {}): Promise<SimHttp> {
  const sim = await startSimulator({ profile: 'fast', seed: 3, ...o });
  const agent = new Agent({ connect: { ca: sim.caCertPem } });
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sim.clientId,
    client_secret: sim.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  });
  const tokenUrl = `${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/token`;
  const tok = (await (await fetch(tokenUrl, { method: 'POST', body: form, dispatcher: agent })).json()) as {
    access_token: string;
  };
  const send = async (url: string, method: string, body: unknown, auth: boolean): Promise<SimCall> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = `Bearer ${tok.access_token}`;
    const res = await fetch(url, {
      method,
      dispatcher: agent,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers as unknown as Headers, json: text ? JSON.parse(text) : null };
  };
  const call = (method: string, path: string, body?: unknown) =>
    send(path.startsWith('https://') ? path : `${sim.graphBaseUrl}${path}`, method, body, true);
  const control = (method: 'GET' | 'POST', sub: string, body?: unknown) =>
    send(`${sim.graphBaseUrl}/_sim/${sub}`, method, body, false);
  const onboard = async (displayName: string, secretToken: string) => {
    const inst = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName });
    const created = instantiateResponseSchema.parse(inst.json);
    const spId = objectIdOf(created.servicePrincipal);
    const appId = objectIdOf(created.application);
    const job = synchronizationJobSchema.parse(
      (await call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: 'aws' })).json,
    );
    const value = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: secretToken },
    ];
    expect((await call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value })).status).toBe(204);
    expect((await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${job.id}/start`)).status).toBe(204);
    return { appId, spId, jobId: job.id };
  };
  const getJob = async (spId: string, jobId: string) =>
    synchronizationJobSchema.parse(
      (await call('GET', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`)).json,
    );
  return {
    sim,
    call,
    control,
    onboard,
    getJob,
    close: async () => {
      await agent.close();
      await sim.close();
    },
  };
}
