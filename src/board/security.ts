/**
 * Request-level defences of the board process, as Express middleware mounted before every route
 * (the board's pages and API, the probes, and any route added later):
 *
 * - `loopbackHostOnly`: without authentication (`--insecure-no-auth`), binding to 127.0.0.1 is not
 *   enough. With DNS rebinding a web page the operator visits makes its own host name resolve to
 *   127.0.0.1 and reads the board as "same origin"; the browser still sends that name in `Host`,
 *   so only loopback names are served.
 * - `sameOriginMutations`: a request that changes something (any method but GET/HEAD/OPTIONS) is
 *   refused when a browser says it comes from another site (`Origin`, `Sec-Fetch-Site`). Browsers
 *   resend cached Basic credentials to the board, so a cross-site page could otherwise retry jobs.
 * - `LoginThrottle`: repeated wrong passwords from one client address are answered 429 for a
 *   delay that doubles with each further failure.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || isLoopbackV4(h) || h === '::ffff:127.0.0.1';
}

function isLoopbackV4(h: string): boolean {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

/** The host name of a `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`); null when malformed. */
function hostOfHeader(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  return m?.[1] ?? null;
}

const plain = (res: Response, status: number, text: string) =>
  res.status(status).set('Cache-Control', 'no-store').type('text/plain').send(`${text}\n`);

/** Serves only requests whose `Host` names this machine's loopback (421 otherwise). */
export function loopbackHostOnly(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const host = hostOfHeader(req.headers.host);
    if (host && isLoopbackHost(host)) {
      next();
      return;
    }
    plain(res, 421, 'This board runs without authentication and answers only to localhost, 127.0.0.1 or [::1].');
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses (403) a mutating request a browser marks as cross-origin: an `Origin` whose host:port is
 * not the request's `Host` (or the opaque `null`), or `Sec-Fetch-Site` other than same-origin/none.
 * Requests without those headers (curl, scripts) are not a browser's cross-site request and pass.
 */
export function sameOriginMutations(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    let ok = true;
    if (origin !== undefined) {
      try {
        const u = new URL(origin);
        const sameHost = u.host.toLowerCase() === String(req.headers.host ?? '').toLowerCase();
        ok = (u.protocol === 'http:' || u.protocol === 'https:') && sameHost;
      } catch {
        ok = false; // `null` (sandboxed frames, redirects across origins) or garbage
      }
    }
    if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') ok = false;
    if (ok) {
      next();
      return;
    }
    plain(res, 403, "Cross-origin request refused: changes can only be made from the board's own pages.");
  };
}

/** Options for `LoginThrottle`. */
export interface LoginThrottleOptions {
  /** Wrong passwords allowed from one address before it must wait. Default 5. */
  freeFailures?: number;
  /** First wait after the free failures; doubles with each further one. Default 1 s. */
  baseDelayMs?: number;
  /** Longest wait. Default 15 min. */
  maxDelayMs?: number;
  /** Failures older than this (since the last one) are forgotten. Default 15 min. */
  forgetAfterMs?: number;
  /** Addresses tracked at most (oldest forgotten first), so a flood cannot grow memory. Default 10,000. */
  maxClients?: number;
  now?: () => number;
}

/**
 * Failed logins per client address, in memory (one board process; a restart forgets them). Only
 * wrong credentials count: a browser's first request without any is the normal challenge. While
 * an address must wait, even the right password is answered 429, or guessing would go on.
 */
export class LoginThrottle {
  private readonly free: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  private readonly clients = new Map<string, { failures: number; last: number; blockedUntil: number }>();

  constructor(o: LoginThrottleOptions = {}) {
    this.free = o.freeFailures ?? 5;
    this.baseMs = o.baseDelayMs ?? 1000;
    this.maxMs = o.maxDelayMs ?? 15 * 60_000;
    this.forgetMs = o.forgetAfterMs ?? 15 * 60_000;
    this.maxClients = o.maxClients ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** Milliseconds this address must still wait before its credentials are checked (0: go ahead). */
  waitMs(client: string): number {
    const c = this.clients.get(client);
    if (!c) return 0;
    const now = this.now();
    if (now - c.last > this.forgetMs && now >= c.blockedUntil) {
      this.clients.delete(client);
      return 0;
    }
    return Math.max(0, c.blockedUntil - now);
  }

  /** Records a wrong password; returns the wait now imposed (0 while failures are still free). */
  failed(client: string): number {
    const now = this.now();
    let c = this.clients.get(client);
    if (c && now - c.last > this.forgetMs) c = undefined;
    if (!c) {
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
      c = { failures: 0, last: now, blockedUntil: 0 };
    }
    this.clients.delete(client); // re-insert: the Map's order is then least recently failed first
    this.clients.set(client, c);
    c.failures++;
    c.last = now;
    const over = c.failures - this.free;
    const delay = over > 0 ? Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over - 1, 30)) : 0;
    c.blockedUntil = now + delay;
    return delay;
  }

  /** A successful login clears the address's record. */
  succeeded(client: string): void {
    this.clients.delete(client);
  }
}
