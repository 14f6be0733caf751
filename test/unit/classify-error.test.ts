import { describe, expect, it } from 'vitest';
import {
  classifyGraphFailure,
  classifyTokenFailure,
  networkErrorKind,
  reclassify,
  refusedBy,
  retryAfterOf,
  webhookFailureClass,
  type FailureFacts,
} from '../../src/graph/classify-error.ts';
import { GraphError, PermanentError, RateLimitedError } from '../../src/graph/errors.ts';

const NOW = Date.parse('2025-01-01T00:00:00Z');
const RA = (v: string) => ({ 'Retry-After': v });

// [name, facts, class, retryAfterMs]
const table: Array<[string, FailureFacts, 'throttled' | 'transient' | 'permanent', number | null]> = [
  // throttled
  ['429 with Retry-After seconds', { status: 429, headers: RA('3'), code: 'TooManyRequests' }, 'throttled', 3000],
  ['429 with Retry-After 0', { status: 429, headers: RA('0') }, 'throttled', 0],
  ['429 with HTTP-date', { status: 429, headers: RA('Wed, 01 Jan 2025 00:00:10 GMT') }, 'throttled', 10_000],
  ['429 without Retry-After (caller backs off)', { status: 429 }, 'throttled', null],
  [
    '429 even inside the replication window',
    { status: 429, headers: RA('1'), context: { replicationWindow: true } },
    'throttled',
    1000,
  ],
  ['503 with Retry-After (this request waits)', { status: 503, headers: RA('2') }, 'throttled', 2000],
  [
    '503 with Retry-After and a throttle scope (the tenant waits)',
    { status: 503, headers: { 'Retry-After': '2', 'x-ms-throttle-scope': 'Tenant_Application/ReadWrite/a/t' } },
    'throttled',
    2000,
  ],
  ['504 with Retry-After', { status: 504, headers: RA('2') }, 'throttled', 2000],
  [
    '503 with Retry-After via Headers object',
    { status: 503, headers: new Headers({ 'retry-after': '4' }) },
    'throttled',
    4000,
  ],
  ['throttle code on another status', { status: 400, code: 'ActivityLimitReached' }, 'throttled', null],
  // transient
  ['503 without Retry-After', { status: 503 }, 'transient', null],
  ['504 without Retry-After', { status: 504 }, 'transient', null],
  ['503 with unparseable Retry-After', { status: 503, headers: RA('later') }, 'transient', null],
  ['500', { status: 500, code: 'UnknownError' }, 'transient', null],
  ['502', { status: 502 }, 'transient', null],
  ['500 with Retry-After stays transient', { status: 500, headers: RA('5') }, 'transient', 5000],
  ['network ECONNRESET', { status: null, networkErrorKind: 'ECONNRESET' }, 'transient', null],
  ['network ETIMEDOUT', { status: null, networkErrorKind: 'ETIMEDOUT' }, 'transient', null],
  ['network ECONNREFUSED', { status: null, networkErrorKind: 'ECONNREFUSED' }, 'transient', null],
  ['undici socket', { status: null, networkErrorKind: 'UND_ERR_SOCKET' }, 'transient', null],
  ['undici connect timeout', { status: null, networkErrorKind: 'UND_ERR_CONNECT_TIMEOUT' }, 'transient', null],
  ['AbortSignal.timeout', { status: null, networkErrorKind: 'TimeoutError' }, 'transient', null],
  ['AbortError', { status: null, networkErrorKind: 'AbortError' }, 'transient', null],
  ['network, unknown kind', { status: null }, 'transient', null],
  [
    '404 in replication window',
    { status: 404, code: 'Request_ResourceNotFound', context: { replicationWindow: true } },
    'transient',
    null,
  ],
  [
    '400 in replication window',
    { status: 400, code: 'Request_BadRequest', context: { replicationWindow: true } },
    'transient',
    null,
  ],
  [
    '403 in replication window',
    { status: 403, code: 'Authorization_RequestDenied', context: { replicationWindow: true } },
    'transient',
    null,
  ],
  ['408', { status: 408 }, 'transient', null],
  ['423 Locked', { status: 423 }, 'transient', null],
  // permanent
  ['400 outside the window', { status: 400, code: 'Request_BadRequest' }, 'permanent', null],
  ['400 with window false', { status: 400, context: { replicationWindow: false } }, 'permanent', null],
  ['401', { status: 401, code: 'InvalidAuthenticationToken' }, 'permanent', null],
  ['401 even in the replication window', { status: 401, context: { replicationWindow: true } }, 'permanent', null],
  ['403', { status: 403, code: 'Authorization_RequestDenied' }, 'permanent', null],
  ['404', { status: 404, code: 'Request_ResourceNotFound' }, 'permanent', null],
  ['409', { status: 409, code: 'Conflict' }, 'permanent', null],
  ['409 even in the replication window', { status: 409, context: { replicationWindow: true } }, 'permanent', null],
  ['422', { status: 422 }, 'permanent', null],
  ['501 Not Implemented', { status: 501 }, 'permanent', null],
  ['TLS: untrusted CA', { status: null, networkErrorKind: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'permanent', null],
  ['TLS: self-signed', { status: null, networkErrorKind: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'permanent', null],
  ['unexpected 2xx', { status: 202 }, 'permanent', null],
];

describe('classifyGraphFailure', () => {
  it.each(table)('%s', (_name, facts, expectedClass, expectedRetryAfter) => {
    const c = classifyGraphFailure({ nowMs: NOW, ...facts });
    expect(c.errorClass).toBe(expectedClass);
    expect(c.retryAfterMs).toBe(expectedRetryAfter);
    expect(c.rule).toBeTruthy();
  });

  // Who waits: Graph throttling the app in the tenant stops every process; a busy service stops this request.
  const scopes: Array<[string, FailureFacts, 'tenant' | 'request' | null]> = [
    ['429 with Retry-After', { status: 429, headers: RA('1') }, 'tenant'],
    ['429 without Retry-After', { status: 429 }, 'tenant'],
    ['throttling code on a 400', { status: 400, code: 'ActivityLimitReached' }, 'tenant'],
    ['503 with Retry-After', { status: 503, headers: RA('1') }, 'request'],
    ['504 with Retry-After', { status: 504, headers: RA('1') }, 'request'],
    [
      '503 with Retry-After and x-ms-throttle-scope',
      { status: 503, headers: { 'retry-after': '1', 'x-ms-throttle-scope': 'Tenant_Application/Write/a/t' } },
      'tenant',
    ],
    ['503 without Retry-After (transient)', { status: 503 }, null],
    ['400 (permanent)', { status: 400 }, null],
    ['network (transient)', { status: null, networkErrorKind: 'ECONNRESET' }, null],
  ];
  it.each(scopes)('throttle scope: %s', (_name, facts, scope) => {
    expect(classifyGraphFailure({ nowMs: NOW, ...facts }).throttleScope).toBe(scope);
  });

  it('decides by code, never by message (a scary message changes nothing)', () => {
    const c = classifyGraphFailure({ status: 400, code: 'Request_BadRequest' });
    expect(c.errorClass).toBe('permanent');
  });
});

describe('networkErrorKind', () => {
  it.each([
    [
      'undici fetch failed → cause.code',
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
      'ECONNRESET',
    ],
    ['nested cause', { cause: { cause: { code: 'UND_ERR_SOCKET' } } }, 'UND_ERR_SOCKET'],
    ['DOMException TimeoutError', new DOMException('timeout', 'TimeoutError'), 'TimeoutError'],
    ['AbortError by name', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'AbortError'],
    ['plain error', new Error('boom'), null],
    ['not an object', 'boom', null],
    ['null', null, null],
  ])('%s', (_n, err, expected) => {
    expect(networkErrorKind(err)).toBe(expected);
  });
});

describe('reclassify', () => {
  const make = (
    status: number | null,
    errorClass: 'permanent' | 'transient' | 'throttled',
    code: string | null = null,
  ) =>
    new GraphError('x', {
      errorClass,
      status,
      code,
      method: 'POST',
      path: '/p',
      requestId: 'r',
      clientRequestId: 'c',
      retryAfterMs: null,
    });

  it('turns a 403 into transient inside the replication window, keeping details', () => {
    const e = reclassify(make(403, 'permanent', 'Authorization_RequestDenied'), { replicationWindow: true });
    expect(e.errorClass).toBe('transient');
    expect(e.details.requestId).toBe('r');
    expect(e).toBeInstanceOf(GraphError);
  });
  it('leaves 409 permanent', () => {
    const orig = make(409, 'permanent');
    expect(reclassify(orig, { replicationWindow: true })).toBe(orig);
  });
  it('leaves throttled and network errors alone', () => {
    const t = make(429, 'throttled');
    expect(reclassify(t, { replicationWindow: true })).toBe(t);
    const n = make(null, 'transient');
    expect(reclassify(n, { replicationWindow: false })).toBe(n);
  });
});

describe("refusedBy: a permanent Graph error becomes the instance failure, with Graph's reason", () => {
  const make = (status: number | null, errorClass: 'permanent' | 'transient' | 'throttled') =>
    new GraphError('Graph 409 Conflict on POST /x: exists', {
      errorClass,
      status,
      code: null,
      method: 'POST',
      path: '/x',
      requestId: 'r',
      clientRequestId: 'c',
      retryAfterMs: null,
    });
  it('wraps permanent Graph errors, naming what was refused, then the reason, then the hint', () => {
    const out = refusedBy(make(409, 'permanent'), "Graph refused to start 'A'", '. Fix it.');
    expect(out).toBeInstanceOf(PermanentError);
    expect((out as Error).message).toBe("Graph refused to start 'A': Graph 409 Conflict on POST /x: exists. Fix it.");
  });
  it('hands every other error back unchanged (retried or waited out)', () => {
    for (const err of [make(503, 'transient'), make(429, 'throttled'), new Error('bug'), new PermanentError('own')]) {
      expect(refusedBy(err, 'x')).toBe(err);
    }
  });
});

describe('the other callers of the classifier', () => {
  it('token requests: OAuth verdicts and configuration are permanent, throttling is only transient', () => {
    const f = { oauthCode: null, configurationError: false, status: null, networkErrorKind: null };
    expect(classifyTokenFailure({ ...f, oauthCode: 'invalid_client', status: 401 })).toBe('permanent');
    expect(classifyTokenFailure({ ...f, configurationError: true })).toBe('permanent');
    expect(classifyTokenFailure({ ...f, status: 429 })).toBe('transient');
    expect(classifyTokenFailure({ ...f, status: 500 })).toBe('transient');
    expect(classifyTokenFailure({ ...f, status: 400 })).toBe('permanent');
    expect(classifyTokenFailure({ ...f, networkErrorKind: 'ECONNRESET' })).toBe('transient');
    expect(classifyTokenFailure({ ...f, networkErrorKind: 'SELF_SIGNED_CERT_IN_CHAIN' })).toBe('permanent');
  });
  it('webhook deliveries: 408, 429 and 5xx are retried, other answers are verdicts', () => {
    expect([408, 429, 500, 503].map(webhookFailureClass)).toEqual(['transient', 'transient', 'transient', 'transient']);
    for (const status of [400, 401, 404, 410, 302]) expect(webhookFailureClass(status)).toBe('permanent');
  });
  it('a throttled wait comes from the limiter, from Graph, or defaults to 1 s', () => {
    expect(retryAfterOf(new RateLimitedError('t', 2500, 'write'))).toBe(2500);
    const g = new GraphError('x', {
      errorClass: 'throttled',
      status: 429,
      code: null,
      method: 'GET',
      path: '/x',
      requestId: null,
      clientRequestId: null,
      retryAfterMs: 7000,
    });
    expect(retryAfterOf(g)).toBe(7000);
    expect(retryAfterOf(new Error('?'))).toBe(1000);
  });
});
