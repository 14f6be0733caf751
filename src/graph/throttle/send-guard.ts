/**
 * The last moment before a Graph request reaches the wire, and the first moment its answer is
 * known — the two places where honouring Retry-After across processes is won or lost.
 *
 * Why not just the grant: the grant comes from Redis; after it, the request may wait
 * for a free connection (or a TLS handshake) while another process is told to back off and
 * broadcasts the pause. A request sent then arrives inside Graph's Retry-After window. So,
 * right before undici writes the request (`onConnect`: synchronous, nothing sent yet), the
 * guard asks again from memory whether the tenant is paused; if so the request is aborted
 * unsent (`RequestNotSentError`) and the throttle admits it again. Nothing was sent, so
 * this is safe even for the non-idempotent instantiate. (Aborting there costs the connection;
 * it happens only while a pause begins.)
 *
 * And the moment the status line and headers of a throttling answer are parsed (`onHeaders`),
 * before fetch resolves or the body is read, the guard reports it so the pause starts then.
 */
import type { Dispatcher } from 'undici';

/**
 * A request stopped before any byte of it was sent: the tenant was `paused`, this very request
 * was `held` by a 503 that another call of it received meanwhile, its `send-deadline` had passed,
 * or its grant had aged past the window's tolerance (`late-grant`; see `Grant.sendWithinMs`).
 * Always safe to admit again.
 */
export class RequestNotSentError extends Error {
  override readonly name = 'RequestNotSentError';
  constructor(
    readonly why: 'paused' | 'held' | 'send-deadline' | 'late-grant',
    /** For `paused`: how long the tenant stays paused; for `held`: how long this request is held. */
    readonly waitMs: number,
  ) {
    super(
      why === 'paused'
        ? `request held back: tenant paused for ${waitMs} ms`
        : why === 'held'
          ? `request held back: Graph asked for it to be repeated only in ${waitMs} ms`
          : why === 'late-grant'
            ? "request held back: its grant aged past the quota window's tolerance"
            : 'request not sent: its send deadline had passed',
    );
  }
}

/** The guard's questions, answered synchronously by the caller. */
export interface SendGuardHooks {
  /** Null to send; an error to abort unsent. */
  beforeSend(): RequestNotSentError | null;
  /** The status and headers of the answer, as soon as they are parsed (lower-case header names). */
  onHeaders?(status: number, header: (name: string) => string | null): void;
  /** The request is being written (it passed `beforeSend`). */
  onSent?(): void;
}

type LegacyHandler = Dispatcher.DispatchHandler & {
  onConnect?: (abort: (err?: Error) => void, context?: unknown) => void;
  onHeaders?: (status: number, rawHeaders: Buffer[] | string[], resume: () => void, statusText: string) => boolean;
  onData?: (chunk: Buffer) => boolean;
  onComplete?: (trailers: unknown) => void;
  onError?: (err: Error) => void;
  onUpgrade?: (status: number, rawHeaders: unknown, socket: unknown) => void;
  onResponseStarted?: () => void;
  onBodySent?: (chunk: unknown) => void;
  onRequestSent?: () => void;
};

function headerReader(raw: Buffer[] | string[] | null | undefined): (name: string) => string | null {
  return (name) => {
    if (!raw) return null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1]);
    }
    return null;
  };
}

/** Wraps fetch's (legacy-API) dispatch handler; every callback is passed through unchanged. */
class GuardedHandler {
  constructor(
    private readonly inner: LegacyHandler,
    private readonly hooks: SendGuardHooks,
  ) {}

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.inner.onConnect?.(abort, context);
    const stop = this.hooks.beforeSend();
    if (stop) abort(stop);
    else this.hooks.onSent?.();
  }

  onHeaders(status: number, rawHeaders: Buffer[] | string[], resume: () => void, statusText: string): boolean {
    try {
      this.hooks.onHeaders?.(status, headerReader(rawHeaders));
    } catch {
      // A hook's failure must never break the response.
    }
    return this.inner.onHeaders ? this.inner.onHeaders(status, rawHeaders, resume, statusText) : true;
  }

  onData(chunk: Buffer): boolean {
    return this.inner.onData ? this.inner.onData(chunk) : true;
  }

  onComplete(trailers: unknown): void {
    this.inner.onComplete?.(trailers);
  }

  onError(err: Error): void {
    this.inner.onError?.(err);
  }

  onUpgrade(status: number, rawHeaders: unknown, socket: unknown): void {
    this.inner.onUpgrade?.(status, rawHeaders, socket);
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }

  onBodySent(chunk: unknown): void {
    this.inner.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    this.inner.onRequestSent?.();
  }
}

/**
 * A dispatcher for one request: the shared agent, with the guard around fetch's handler.
 * Cheap (one small object per request); the connections are the shared agent's.
 */
export function guardedDispatcher(inner: Dispatcher, hooks: SendGuardHooks): Dispatcher {
  const d = {
    dispatch: (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) =>
      inner.dispatch(
        opts,
        new GuardedHandler(handler as LegacyHandler, hooks) as unknown as Dispatcher.DispatchHandler,
      ),
    // undici's fetch reads this to hand request bodies to a MockAgent (tests) as it expects.
    get isMockActive() {
      return (inner as unknown as { isMockActive?: boolean }).isMockActive;
    },
  };
  return d as unknown as Dispatcher;
}

/** The RequestNotSentError in an error's cause chain (fetch wraps dispatcher errors in `TypeError: fetch failed`). */
export function notSentCause(err: unknown): RequestNotSentError | null {
  let cur: unknown = err;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 6; depth++) {
    if (cur instanceof RequestNotSentError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}
