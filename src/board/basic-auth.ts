/**
 * HTTP Basic authentication for the board. Basic (not a login form) because Bull Board is a
 * single-page app that calls its JSON API from the browser: the browser re-sends Basic
 * credentials on every request, including the API calls and static assets, with no session
 * state for the board to keep. Serve the board behind TLS (a reverse proxy) beyond localhost.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { LoginThrottle } from './security.ts';

/** The one operator account the board accepts. */
export interface BoardCredentials {
  username: string;
  password: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Constant-time check of a presented user/password pair. Both sides are hashed first so the
 * comparison always runs over 32 bytes: neither the expected lengths nor the position of the
 * first differing byte leak through timing. Both fields are always compared (`&`, not `&&`).
 */
export function credentialsMatch(expected: BoardCredentials, user: string, password: string): boolean {
  const userOk = timingSafeEqual(digest(user), digest(expected.username));
  const passOk = timingSafeEqual(digest(password), digest(expected.password));
  return Boolean(Number(userOk) & Number(passOk));
}

/** Parses an `Authorization: Basic …` header; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Options for `basicAuth`. */
export interface BasicAuthOptions {
  credentials: BoardCredentials;
  realm?: string;
  /** Called on each refused request (never with the presented password). */
  onRefused?: (req: Request, reason: 'missing' | 'wrong' | 'throttled') => void;
  /** Slows down repeated wrong passwords per client address (none when absent). */
  throttle?: LoginThrottle;
}

/** Express middleware: 401 with a `WWW-Authenticate` challenge unless the credentials match. */
export function basicAuth(opts: BasicAuthOptions): RequestHandler {
  const realm = (opts.realm ?? 'provflow board').replace(/"/g, '');
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  return (req: Request, res: Response, next: NextFunction) => {
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const waitMs = opts.throttle?.waitMs(client) ?? 0;
    if (waitMs > 0) {
      opts.onRefused?.(req, 'throttled');
      res.set('Retry-After', String(Math.ceil(waitMs / 1000))).set('Cache-Control', 'no-store');
      res.status(429).type('text/plain').send('Too many wrong passwords from this address; try again later.\n');
      return;
    }
    const presented = parseBasicAuth(req.headers.authorization);
    if (presented && credentialsMatch(opts.credentials, presented.user, presented.password)) {
      opts.throttle?.succeeded(client);
      next();
      return;
    }
    if (presented) opts.throttle?.failed(client);
    opts.onRefused?.(req, presented ? 'wrong' : 'missing');
    res
      .set('WWW-Authenticate', challenge)
      .set('Cache-Control', 'no-store')
      .status(401)
      .type('text/plain')
      .send('Authentication required\n');
  };
}
