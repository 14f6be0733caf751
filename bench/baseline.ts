/**
 * The baseline: Microsoft's procedure (seeds/000_english.md) scripted plainly, one instance
 * after another, with the retry behaviour of Microsoft's Graph SDKs (retry 429/503/504
 * honouring Retry-After, at most 3 retries, a fixed 3 s delay otherwise — scaled like the
 * simulator's clock). This is what an identity engineer's script does today.
 */
import { Agent, fetch } from 'undici';
import type { SimulatorHandle } from '../src/sim/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BaselineResult {
  instances: number;
  wallMs: number;
  perInstanceMs: number[];
  instancesPerMinute: number;
  requests: number;
}

export async function runBaseline(sim: SimulatorHandle, n: number, timeScale: number, onProgress?: (i: number) => void): Promise<BaselineResult> {
  const agent = new Agent({ connect: { ca: sim.caCertPem } });
  let requests = 0;
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: sim.clientId, client_secret: sim.clientSecret, scope: 'https://graph.microsoft.com/.default' });
  const { access_token: token } = (await (await fetch(`${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form, dispatcher: agent })).json()) as { access_token: string };

  /** One Graph call with the SDK's retry handler. */
  async function graph(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    for (let attempt = 0; ; attempt++) {
      requests++;
      const res = await fetch(`${sim.graphBaseUrl}${path}`, {
        method,
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if ([429, 503, 504].includes(res.status) && attempt < 3) {
        const ra = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(ra) && ra > 0 ? ra * 1000 : 3000 / timeScale);
        continue;
      }
      // The SDK does not retry a 500/502; a person running the script re-runs the step.
      if ((res.status === 500 || res.status === 502) && attempt < 6) {
        await sleep(3000 / timeScale);
        continue;
      }
      return { status: res.status, json: text ? JSON.parse(text) : null };
    }
  }

  const perInstanceMs: number[] = [];
  const t0 = Date.now();
  const poll = 5000 / timeScale; // Microsoft: poll every 5–10 s
  for (let i = 0; i < n; i++) {
    const s = Date.now();
    const name = `Baseline AWS ${String(i).padStart(4, '0')}`;
    const tpl = await graph('GET', `/applicationTemplates?$filter=${encodeURIComponent("displayName eq 'Amazon Web Services (AWS)'")}`);
    const templateId = tpl.json.value[0].id as string;
    const inst = await graph('POST', `/applicationTemplates/${templateId}/instantiate`, { displayName: name });
    if (inst.status !== 201) throw new Error(`instantiate ${inst.status}`);
    const spId = (inst.json.servicePrincipal.objectId ?? inst.json.servicePrincipal.id) as string;
    while ((await graph('GET', `/servicePrincipals/${spId}`)).status !== 200) await sleep(poll);
    let job: { status: number; json: any };
    for (;;) {
      const t = await graph('GET', `/servicePrincipals/${spId}/synchronization/templates`);
      if (t.status === 200) {
        job = await graph('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: t.json.value[0].id });
        if (job.status === 200 || job.status === 201) break;
      }
      await sleep(poll);
    }
    const jobId = job.json.id as string;
    const creds = [
      { key: 'ClientSecret', value: `baseline-secret-${i}` },
      { key: 'SecretToken', value: `baseline-token-${i}` },
    ];
    while ((await graph('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/validateCredentials`, { useSavedCredentials: false, credentials: creds })).status !== 204) await sleep(poll);
    await graph('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: creds });
    await graph('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/start`);
    for (;;) {
      const j = await graph('GET', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`);
      const t = j.json?.status?.steadyStateLastAchievedTime;
      if (t && !t.startsWith('0001')) break;
      await sleep(poll * 2); // Microsoft: check status periodically
    }
    perInstanceMs.push(Date.now() - s);
    onProgress?.(i + 1);
  }
  const wallMs = Date.now() - t0;
  await agent.close();
  return { instances: n, wallMs, perInstanceMs, instancesPerMinute: (n / wallMs) * 60_000, requests };
}
