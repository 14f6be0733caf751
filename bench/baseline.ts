/**
 * The baseline: Microsoft's documented procedure for Graph-configured provisioning, scripted plainly, one
 * instance after another, the way an identity engineer's script does it today:
 *   GET template → instantiate → GET servicePrincipal until it exists → GET sync templates →
 *   POST job → validateCredentials → PUT secrets → POST start → GET job until steady.
 * Graph calls go through `plainGraph` (the SDKs' retry: 429/503/504, Retry-After, 3 retries).
 * Waits follow Microsoft's advice, scaled like the simulator's clock: replication polled every
 * 5 s, the job's status every 10 s. A step that still fails after the SDK's retries (a 500, a
 * 404 from a replicating object) is re-run after the same 5 s, as a person re-runs a script —
 * which is how a plain script creates duplicate apps when an instantiate answers ambiguously.
 */
import { plainGraph, type GraphAnswer, type PlainGraphOptions } from './plain-graph.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BaselineResult {
  instances: number;
  steady: number;
  failed: number;
  wallMs: number;
  perInstanceMs: number[];
  instancesPerMinute: number;
  requests: number;
  sdkRetries: number;
  /** Steps a person re-ran (after the SDK gave up or Graph said "not yet"). */
  reruns: number;
  failures: string[];
}

const TEMPLATE_FILTER = encodeURIComponent("displayName eq 'Amazon Web Services (AWS)'");
/** A person gives up on a step after this many re-runs. */
const MAX_RERUNS = 60;

export async function runBaseline(
  g: Omit<PlainGraphOptions, 'connections'>,
  n: number,
  opts: { namePrefix?: string; onProgress?: (done: number, lastMs: number) => void } = {},
): Promise<BaselineResult> {
  const graph = await plainGraph({ ...g, connections: 1 });
  const replicationPollMs = 5000 / g.timeScale;
  const statusPollMs = 10_000 / g.timeScale;
  let reruns = 0;

  /** Runs a step until `ok` says so, re-running it (after a replication-poll wait) otherwise. */
  async function untilOk(
    what: string,
    step: () => Promise<GraphAnswer>,
    ok: (a: GraphAnswer) => boolean,
  ): Promise<GraphAnswer> {
    for (let i = 0; ; i++) {
      const a = await step();
      if (ok(a)) return a;
      if (i >= MAX_RERUNS)
        throw new Error(`${what}: ${a.status} ${JSON.stringify(a.json?.error?.message ?? a.json).slice(0, 200)}`);
      reruns++;
      await sleep(replicationPollMs);
    }
  }

  const perInstanceMs: number[] = [];
  const failures: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const s = Date.now();
    const name = `${opts.namePrefix ?? 'Baseline AWS'} ${String(i).padStart(4, '0')}`;
    try {
      const tpl = await untilOk(
        'list templates',
        () => graph.call('GET', `/applicationTemplates?$filter=${TEMPLATE_FILTER}`),
        (a) => a.status === 200,
      );
      const templateId = tpl.json.value[0].id as string;
      const inst = await untilOk(
        'instantiate',
        () => graph.call('POST', `/applicationTemplates/${templateId}/instantiate`, { displayName: name }),
        (a) => a.status === 201,
      );
      const spId = (inst.json.servicePrincipal.objectId ?? inst.json.servicePrincipal.id) as string;
      await untilOk(
        'read service principal',
        () => graph.call('GET', `/servicePrincipals/${spId}`),
        (a) => a.status === 200,
      );
      const tmpl = await untilOk(
        'list sync templates',
        () => graph.call('GET', `/servicePrincipals/${spId}/synchronization/templates`),
        (a) => a.status === 200 && a.json?.value?.length > 0,
      );
      const job = await untilOk(
        'create job',
        () =>
          graph.call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: tmpl.json.value[0].id }),
        (a) => a.status === 200 || a.status === 201,
      );
      const jobId = job.json.id as string;
      const jobPath = `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`;
      const creds = [
        { key: 'ClientSecret', value: `baseline-secret-${i}` },
        { key: 'SecretToken', value: `baseline-token-${i}` },
      ];
      await untilOk(
        'validate credentials',
        () => graph.call('POST', `${jobPath}/validateCredentials`, { useSavedCredentials: false, credentials: creds }),
        (a) => a.status === 204,
      );
      await untilOk(
        'save secrets',
        () => graph.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: creds }),
        (a) => a.status === 204,
      );
      await untilOk(
        'start',
        () => graph.call('POST', `${jobPath}/start`),
        (a) => a.status === 204,
      );
      for (;;) {
        await sleep(statusPollMs);
        const j = await graph.call('GET', jobPath);
        const t = j.json?.status?.steadyStateLastAchievedTime as string | undefined;
        if (j.status === 200 && t && !t.startsWith('0001')) break;
        if (j.json?.status?.code === 'Quarantine') throw new Error('job quarantined');
      }
      perInstanceMs.push(Date.now() - s);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
    opts.onProgress?.(i + 1, Date.now() - s);
  }
  const wallMs = Date.now() - t0;
  const c = graph.counters();
  await graph.close();
  return {
    instances: n,
    steady: perInstanceMs.length,
    failed: failures.length,
    wallMs,
    perInstanceMs,
    instancesPerMinute: wallMs > 0 ? (perInstanceMs.length / wallMs) * 60_000 : 0,
    requests: c.requests,
    sdkRetries: c.retries,
    reruns,
    failures,
  };
}
