/**
 * Request context and response helpers shared by the Entra and Graph handlers. Every Graph
 * response carries `request-id`, echoes `client-request-id`, and errors use Graph's body:
 * `{"error":{"code","message","innerError":{"code","date","request-id","client-request-id"}}}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** The app+tenant a bearer token was issued to: Graph's throttling scope. */
export interface Caller {
  appId: string;
  tenantId: string;
}

/** One request as the handlers see it. */
export interface SimContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  /** Path below the API version, without trailing slash, e.g. `/applications/123`. */
  path: string;
  /** `beta` or `v1.0`. */
  apiVersion: string;
  /** Parsed JSON body (lenient), or undefined when none. */
  body: unknown;
  rawBody: string;
  requestId: string;
  clientRequestId: string;
  /** Real time the request arrived (before simulated latency). */
  arrivedAt: number;
  caller: Caller | null;
  /** Resource units this request costs (`x-ms-resource-unit`). */
  resourceUnits: number;
  /** Extra response headers decided by the pipeline (throttle percentage, …). */
  extraHeaders: Record<string, string>;
}

/** Read a request body as text (capped: Graph bodies here are tiny). */
export async function readBody(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Identifiers for a new request: ours, and the caller's echoed (or generated) one. */
export function requestIds(req: IncomingMessage): { requestId: string; clientRequestId: string } {
  const h = req.headers['client-request-id'];
  const clientRequestId = (Array.isArray(h) ? h[0] : h) ?? randomUUID();
  return { requestId: randomUUID(), clientRequestId };
}

const GRAPH_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** Write a Graph response (JSON body or none) with the standard Graph headers. */
export function sendGraph(ctx: SimContext, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const { res } = ctx;
  if (res.headersSent || res.destroyed) return;
  const h: Record<string, string> = {
    'request-id': ctx.requestId,
    'client-request-id': ctx.clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({
      ServerInfo: { DataCenter: 'Simulated', Slice: 'E', Ring: '5', ScaleUnit: '000', RoleInstance: 'SIM-LOCAL' },
    }),
    'x-ms-resource-unit': String(ctx.resourceUnits),
    'strict-transport-security': 'max-age=31536000',
    'cache-control': 'no-cache',
    ...ctx.extraHeaders,
    ...headers,
  };
  if (body === undefined) {
    res.writeHead(status, h);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  h['content-type'] = GRAPH_JSON;
  h['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(status, h);
  res.end(text);
}

/** Graph's error body. `innerCode` defaults to the error code. */
function graphErrorBody(ctx: SimContext, code: string, message: string, innerCode?: string): unknown {
  return {
    error: {
      code,
      message,
      innerError: {
        code: innerCode ?? code,
        date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
        'request-id': ctx.requestId,
        'client-request-id': ctx.clientRequestId,
      },
    },
  };
}

/** Send a Graph error response. */
export function sendGraphError(
  ctx: SimContext,
  status: number,
  code: string,
  message: string,
  opts: { headers?: Record<string, string>; innerCode?: string } = {},
): void {
  sendGraph(ctx, status, graphErrorBody(ctx, code, message, opts.innerCode), opts.headers);
}

/** Plain JSON response (Entra endpoints, /_sim). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store, no-cache',
    ...headers,
  });
  res.end(text);
}

/** Graph's 404 for a directory object that does not exist (or has not replicated yet). */
export function sendNotFound(ctx: SimContext, id: string): void {
  sendGraphError(
    ctx,
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

/** ISO timestamp without milliseconds noise beyond what Graph shows. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `sleep` that can be cancelled by the simulator closing. */
export function delay(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });
}
