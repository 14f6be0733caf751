/**
 * A plain Graph caller, the way a script would write it: undici fetch, a client-credentials
 * token from the token endpoint (form POST), the simulator's CA trusted through an undici
 * Agent, and the retry behaviour of Microsoft's Graph SDKs (RetryHandler defaults): retry
 * 429/503/504 at most 3 times, waiting Retry-After when given, a fixed delay (3 s, scaled like
 * the simulator's clock) otherwise; everything else is returned to the caller as is.
 */
import { Agent, fetch } from 'undici';

export interface PlainGraphOptions {
  graphBaseUrl: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPem: string;
  /** Divides the SDK's 3 s default delay (the simulator's clock runs this much faster). */
  timeScale: number;
  maxRetries?: number;
  /** Parallel connections (1 for the one-after-another baseline). */
  connections?: number;
}

export interface GraphAnswer {
  status: number;
  json: any;
  retryAfter: string | null;
}

export interface PlainGraph {
  call(method: string, path: string, body?: unknown): Promise<GraphAnswer>;
  /** Requests sent (each retry counts), SDK retries done, token requests. */
  counters(): { requests: number; retries: number; tokens: number };
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry-After as seconds or an HTTP-date, in ms; null when absent or unreadable. */
export function retryAfterMs(h: string | null, now = Date.now()): number | null {
  if (h === null || h.trim() === '') return null;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const d = Date.parse(h);
  return Number.isNaN(d) ? null : Math.max(0, d - now);
}

export async function plainGraph(o: PlainGraphOptions): Promise<PlainGraph> {
  const agent = new Agent({ connect: { ca: o.caCertPem }, connections: o.connections ?? 1, pipelining: 1 });
  const maxRetries = o.maxRetries ?? 3;
  const fixedDelayMs = 3000 / o.timeScale;
  let requests = 0;
  let retries = 0;
  let tokens = 0;
  let token = '';

  async function getToken(): Promise<void> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: o.clientId,
      client_secret: o.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    });
    const res = await fetch(`${o.authorityHost}/${o.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: form,
      dispatcher: agent,
    });
    const body = (await res.json()) as { access_token?: string; error_description?: string };
    if (!res.ok || !body.access_token) throw new Error(`token endpoint: ${res.status} ${body.error_description ?? ''}`);
    tokens++;
    token = body.access_token;
  }
  await getToken();

  async function call(method: string, path: string, body?: unknown): Promise<GraphAnswer> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      requests++;
      const res = await fetch(`${o.graphBaseUrl}${path}`, {
        method,
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const ra = res.headers.get('retry-after');
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        await getToken();
        continue;
      }
      if ((res.status === 429 || res.status === 503 || res.status === 504) && attempt < maxRetries) {
        retries++;
        await sleep(retryAfterMs(ra) ?? fixedDelayMs);
        continue;
      }
      let json: any = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = { raw: text };
      }
      return { status: res.status, json, retryAfter: ra };
    }
  }

  return {
    call,
    counters: () => ({ requests, retries, tokens }),
    close: () => agent.close(),
  };
}
