/**
 * The three error classes. `classifyGraphFailure` (classify-error.ts) is the one
 * place that decides which class a Graph answer belongs to; everything else reads `errorClass`.
 */

/** throttled: wait, don't spend an attempt. transient: retry with backoff. permanent: give up with a reason. */
export type ErrorClass = 'throttled' | 'transient' | 'permanent';

/** A failed Graph call, classified, carrying what an operator needs to act (never secrets or tokens). */
export class GraphError extends Error {
  override readonly name = 'GraphError';
  constructor(
    message: string,
    readonly details: {
      errorClass: ErrorClass;
      status: number | null;
      code: string | null;
      method: string;
      path: string;
      requestId: string | null;
      clientRequestId: string | null;
      /** How long to wait before the next call to this tenant, when Graph said so (or the limiter did). */
      retryAfterMs: number | null;
      /** For throttled answers: does the whole tenant wait, or only this request? (classify-error.ts) */
      throttleScope?: 'tenant' | 'request' | null;
    },
  ) {
    super(message);
  }
  get errorClass(): ErrorClass {
    return this.details.errorClass;
  }
  get status(): number | null {
    return this.details.status;
  }
  get code(): string | null {
    return this.details.code;
  }
}

/** Raised when the shared limiter wants a caller to wait longer than is worth holding a worker slot. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly errorClass: ErrorClass = 'throttled';
  constructor(
    readonly tenantId: string,
    readonly retryAfterMs: number,
    readonly bucket: string,
  ) {
    super(`tenant ${tenantId}: ${bucket} limit reached, wait ${retryAfterMs} ms`);
  }
}

/** A permanent failure decided by provflow itself (bad input, unknown template, …). */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly errorClass: ErrorClass = 'permanent';
}

/** The class of any thrown value: unknown errors (bugs, network) count as transient. */
export function errorClassOf(err: unknown): ErrorClass {
  if (err && typeof err === 'object' && 'errorClass' in err) {
    const c = (err as { errorClass: unknown }).errorClass;
    if (c === 'throttled' || c === 'transient' || c === 'permanent') return c;
  }
  return 'transient';
}
