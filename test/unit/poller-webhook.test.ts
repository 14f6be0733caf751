import { describe, expect, it } from 'vitest';
import { createWebhookNotifier, webhookBody, webhookEventId, type WebhookEvent } from '../../src/events/webhook.ts';

const URL_WITH_TOKEN = 'https://hooks.example.test/services/T000/B000/very-secret-path-token';
const SECRET = 'S3cr3t-Token-do-not-leak-8f2a';

const event: WebhookEvent = {
  type: 'instance.quarantined',
  batchId: 'b-2026-03-01',
  instanceKey: 'contoso-042',
  displayName: 'Contoso 042',
  state: 'quarantined',
  detail: 'Quarantine since 2026-03-01T10:00:00Z: EncounteredQuarantineException (next attempt 2026-03-01T16:00:00Z)',
  ids: { applicationObjectId: 'app-1', servicePrincipalId: 'sp-1', jobId: 'scim.t.app' },
  at: '2026-03-01T10:01:00Z',
};

interface Call {
  url: string;
  init: RequestInit;
}
/** A fetch double answering from a script: a status number, 'throw' (network error) or a Response. */
function scriptedFetch(script: Array<number | 'throw' | Response>) {
  const calls: Call[] = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const step = script[Math.min(calls.length - 1, script.length - 1)];
    if (step === 'throw') throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    if (step instanceof Response) return step;
    return new Response(step === 204 ? null : 'x', { status: step });
  }) as typeof fetch;
  return { impl, calls };
}
const noSleep = { sleep: async () => undefined, random: () => 0.5 };

describe('webhook body', () => {
  it('never carries secrets planted in the surrounding objects', async () => {
    // A careless caller passes a ledger record with credentials spread into it.
    const instanceRecord = {
      ...event,
      credentials: { SecretToken: SECRET, BaseAddress: `https://scim.example.test/?token=${SECRET}` },
      secrets: [{ key: 'SecretToken', value: SECRET }],
      clientSecret: SECRET,
      ids: { ...event.ids, clientSecret: SECRET, nested: { token: SECRET } },
    } as unknown as WebhookEvent;
    const { impl, calls } = scriptedFetch([204]);
    const notifier = createWebhookNotifier({ url: URL_WITH_TOKEN, fetchImpl: impl, ...noSleep });
    const result = await notifier.notify(instanceRecord);
    expect(result.delivered).toBe(true);
    const posted = String(calls[0]!.init.body);
    const headers = JSON.stringify(calls[0]!.init.headers);
    expect(posted).not.toContain(SECRET);
    expect(headers).not.toContain(SECRET);
    expect(JSON.parse(posted)).toEqual({
      type: 'instance.quarantined',
      batchId: 'b-2026-03-01',
      instanceKey: 'contoso-042',
      displayName: 'Contoso 042',
      state: 'quarantined',
      detail: event.detail,
      ids: { applicationObjectId: 'app-1', servicePrincipalId: 'sp-1', jobId: 'scim.t.app' },
      at: '2026-03-01T10:01:00Z',
    });
  });

  it('omits missing ids and clips an oversized detail', () => {
    const body = JSON.parse(webhookBody({ ...event, ids: { jobId: 'j' }, detail: 'd'.repeat(5_000) }));
    expect(body.ids).toEqual({ jobId: 'j' });
    expect(body.detail).toHaveLength(1_000);
  });

  it('event id is stable across attempts and differs between events', () => {
    expect(webhookEventId(event)).toBe(webhookEventId({ ...event }));
    expect(webhookEventId(event)).not.toBe(webhookEventId({ ...event, type: 'instance.failed' }));
  });
});

describe('webhook delivery', () => {
  it('posts JSON with the event headers', async () => {
    const { impl, calls } = scriptedFetch([200]);
    const r = await createWebhookNotifier({ url: URL_WITH_TOKEN, fetchImpl: impl, ...noSleep }).notify(event);
    expect(r).toEqual({ delivered: true, attempts: 1, status: 200, lastError: null });
    const init = calls[0]!.init;
    expect(init.method).toBe('POST');
    expect(init.redirect).toBe('manual');
    expect(init.headers).toMatchObject({
      'content-type': 'application/json',
      'x-provflow-event': 'instance.quarantined',
      'x-provflow-event-id': webhookEventId(event),
      'x-provflow-attempt': '1',
    });
  });

  it('retries network errors, 5xx and 429 with growing delays, then succeeds', async () => {
    const waits: number[] = [];
    const { impl, calls } = scriptedFetch(['throw', 502, 429, 200]);
    const r = await createWebhookNotifier({
      url: URL_WITH_TOKEN,
      fetchImpl: impl,
      baseDelayMs: 100,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
    }).notify(event);
    expect(r).toMatchObject({ delivered: true, attempts: 4 });
    expect(calls.map((c) => (c.init.headers as Record<string, string>)['x-provflow-attempt'])).toEqual([
      '1',
      '2',
      '3',
      '4',
    ]);
    expect(waits).toEqual([100, 200, 400]);
  });

  it('honours Retry-After on 429 (capped by maxDelayMs)', async () => {
    const waits: number[] = [];
    const tooMany = new Response('slow down', { status: 429, headers: { 'retry-after': '7' } });
    const { impl } = scriptedFetch([tooMany, 200]);
    await createWebhookNotifier({
      url: URL_WITH_TOKEN,
      fetchImpl: impl,
      baseDelayMs: 10,
      sleep: async (ms) => void waits.push(ms),
      random: () => 0,
    }).notify(event);
    expect(waits).toEqual([7_000]);
    const { impl: impl2 } = scriptedFetch([new Response('', { status: 429, headers: { 'retry-after': '3600' } }), 200]);
    const waits2: number[] = [];
    await createWebhookNotifier({
      url: URL_WITH_TOKEN,
      fetchImpl: impl2,
      maxDelayMs: 2_000,
      sleep: async (ms) => void waits2.push(ms),
      random: () => 0,
    }).notify(event);
    expect(waits2).toEqual([2_000]);
  });

  it('does not retry a 4xx other than 408/429, nor a redirect', async () => {
    for (const status of [400, 401, 404, 302]) {
      const { impl, calls } = scriptedFetch([status, 200]);
      const r = await createWebhookNotifier({ url: URL_WITH_TOKEN, fetchImpl: impl, ...noSleep }).notify(event);
      expect(r).toEqual({ delivered: false, attempts: 1, status, lastError: `HTTP ${status}` });
      expect(calls).toHaveLength(1);
    }
  });

  it('gives up after maxAttempts and reports the last error without the full URL', async () => {
    const logs: Array<{ obj: object; msg?: string }> = [];
    const failing = (async () => {
      throw new TypeError(`request to ${URL_WITH_TOKEN} failed`);
    }) as typeof fetch;
    const r = await createWebhookNotifier({
      url: URL_WITH_TOKEN,
      fetchImpl: failing,
      maxAttempts: 3,
      logger: { warn: (obj, msg) => void logs.push({ obj, msg }) },
      ...noSleep,
    }).notify(event);
    expect(r.delivered).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.status).toBeNull();
    expect(r.lastError).toContain('https://hooks.example.test');
    expect(r.lastError).not.toContain('very-secret-path-token');
    expect(logs).toHaveLength(3);
    expect(logs.at(-1)!.msg).toContain('giving up');
    expect(JSON.stringify(logs)).not.toContain('very-secret-path-token');
  });

  it('times out a hanging receiver per attempt', async () => {
    const hanging = ((_url: string, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      })) as typeof fetch;
    const r = await createWebhookNotifier({
      url: URL_WITH_TOKEN,
      fetchImpl: hanging,
      timeoutMs: 30,
      maxAttempts: 2,
      ...noSleep,
    }).notify(event);
    expect(r).toMatchObject({ delivered: false, attempts: 2, lastError: 'timeout after 30 ms' });
  });

  it('refuses an unknown event type without calling out', async () => {
    const { impl, calls } = scriptedFetch([200]);
    const r = await createWebhookNotifier({ url: URL_WITH_TOKEN, fetchImpl: impl, ...noSleep }).notify({
      ...event,
      type: 'instance.deleted' as WebhookEvent['type'],
    });
    expect(r.delivered).toBe(false);
    expect(calls).toHaveLength(0);
  });
});
