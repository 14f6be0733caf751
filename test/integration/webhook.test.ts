/**
 * The webhook notifier against a real HTTP server on loopback: real fetch (undici), real
 * sockets, real timeouts. No Redis needed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookNotifier, webhookEventId, type WebhookEvent } from '../../src/events/webhook.ts';

const event: WebhookEvent = {
  type: 'instance.steady',
  batchId: 'batch-1',
  instanceKey: 'fabrikam-7',
  displayName: 'Fabrikam 7',
  state: 'steady',
  detail: 'Steady since 2026-03-01T10:05:00Z (last cycle succeeded)',
  ids: { applicationObjectId: 'app-7', servicePrincipalId: 'sp-7', jobId: 'scim.t.app7' },
  at: '2026-03-01T10:05:01Z',
};

interface Received {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server | null = null;
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
  }
});

/** Starts a loopback server whose n-th request (0-based) is answered by `handlers[n]` (last one repeats). */
async function serve(
  handlers: Array<(req: IncomingMessage, res: ServerResponse) => void>,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body });
      const handler = handlers[Math.min(received.length - 1, handlers.length - 1)]!;
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/provflow`, received };
}

const status =
  (code: number, headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(code, headers).end(code >= 400 ? 'nope' : 'ok');
  };
const dropConnection = (req: IncomingMessage) => req.socket.destroy();
const neverAnswer = () => undefined;

describe('webhook notifier over loopback HTTP', () => {
  it('fails twice (500, then a dropped connection), then delivers on the third attempt', async () => {
    const { url, received } = await serve([status(500), dropConnection, status(200)]);
    const warnings: object[] = [];
    const notifier = createWebhookNotifier({ url, baseDelayMs: 20, logger: { warn: (o) => void warnings.push(o) } });
    const started = Date.now();
    const r = await notifier.notify(event);

    expect(r).toEqual({ delivered: true, attempts: 3, status: 200, lastError: null });
    expect(received).toHaveLength(3);
    expect(warnings).toHaveLength(2);
    // backoff actually waited: ≥ 10 ms (half of 20, jitter) + ≥ 20 ms (half of 40)
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    for (const [i, req] of received.entries()) {
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['x-provflow-event']).toBe('instance.steady');
      expect(req.headers['x-provflow-event-id']).toBe(webhookEventId(event));
      expect(req.headers['x-provflow-attempt']).toBe(String(i + 1));
      expect(JSON.parse(req.body)).toEqual(event);
    }
  });

  it('waits out Retry-After on 429 before retrying', async () => {
    const { url, received } = await serve([status(429, { 'retry-after': '1' }), status(204)]);
    const started = Date.now();
    const r = await createWebhookNotifier({ url, baseDelayMs: 10 }).notify(event);
    expect(r).toMatchObject({ delivered: true, attempts: 2, status: 204 });
    expect(received).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxAttempts when the receiver keeps failing', async () => {
    const { url, received } = await serve([status(503)]);
    const r = await createWebhookNotifier({ url, baseDelayMs: 5, maxAttempts: 3 }).notify(event);
    expect(r).toEqual({ delivered: false, attempts: 3, status: 503, lastError: 'HTTP 503' });
    expect(received).toHaveLength(3);
  });

  it('does not retry a 400: the receiver rejected the event itself', async () => {
    const { url, received } = await serve([status(400), status(200)]);
    const r = await createWebhookNotifier({ url, baseDelayMs: 5 }).notify(event);
    expect(r).toMatchObject({ delivered: false, attempts: 1, status: 400 });
    expect(received).toHaveLength(1);
  });

  it('times out a receiver that never answers, then succeeds when it does', async () => {
    const { url, received } = await serve([neverAnswer, status(200)]);
    const r = await createWebhookNotifier({ url, baseDelayMs: 5, timeoutMs: 200 }).notify(event);
    expect(r).toMatchObject({ delivered: true, attempts: 2 });
    expect(received).toHaveLength(2);
  });

  it('reports a refused connection after all attempts, without the URL path', async () => {
    // Bind then close to get a port nobody listens on.
    const probe = await serve([status(200)]);
    const closedUrl = probe.url;
    server!.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    const r = await createWebhookNotifier({ url: closedUrl, baseDelayMs: 5, maxAttempts: 2 }).notify(event);
    expect(r.delivered).toBe(false);
    expect(r.attempts).toBe(2);
    expect(r.status).toBeNull();
    expect(r.lastError).toMatch(/ECONNREFUSED|fetch failed/);
    expect(r.lastError).not.toContain('/hooks/provflow');
  });

  it('refuses a URL with credentials up front; PROVFLOW_WEBHOOK_AUTHORIZATION is sent as the header', async () => {
    const { url, received } = await serve([status(204)]);
    const withCreds = url.replace('http://', 'http://ops:pw-canary@');
    expect(() => createWebhookNotifier({ url: withCreds })).toThrow(/user:password@/);
    expect(() => createWebhookNotifier({ url: withCreds })).not.toThrow(/pw-canary/);
    const basic = `Basic ${Buffer.from('ops:pw-canary').toString('base64')}`;
    const r = await createWebhookNotifier({ url, authorization: basic }).notify(event);
    expect(r.delivered).toBe(true);
    expect(received[0]!.headers.authorization).toBe(basic);
  });
});
