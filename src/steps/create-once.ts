/**
 * Creating a Graph object at most once, for both creating steps (instantiate-app,
 * create-sync-job). Graph's creates are not idempotent, may answer 5xx or time out after
 * creating, and what they create is invisible to queries for a while. So a create:
 *   1. looks for the object first (the step does: the query differs per object);
 *   2. honours an earlier intent marker: until that create can no longer take effect, it
 *      reconciles by query instead of posting again (`reconcileLeft`);
 *   3. claims a new intent marker atomically before the POST (`claimIntent`);
 *   4. after a failure keeps the marker when the object may exist, else drops it (`settleFailedCreate`).
 */
import { errorClassOf, GraphError } from '../graph/errors.ts';
import type { InstanceSpec } from './instance.ts';
import type { StepDeps, StepSettings } from './types.ts';

/**
 * An intent marker, a field of the instance's ledger hash: `{token}@{intent epoch ms}`, then
 * `@{epoch ms}` more once Graph answered the POST ambiguously (the request is over then).
 */
export interface Intent {
  raw: string;
  token: string | null;
  at: number;
  answeredAt: number | null;
}

/**
 * Reads a marker. Before the two steps shared this module, create-sync-job wrote `{at}` and
 * `{at}@{answeredAt}` (no token); ledgers outlive deploys, so those are still read.
 */
export function parseIntent(raw: string | null | undefined): Intent | null {
  if (!raw) return null;
  const parts = raw.split('@');
  const legacy = /^\d+$/.test(parts[0]!);
  const [token, at, answeredAt] = legacy ? [null, parts[0], parts[1]] : parts;
  if ((!legacy && !token) || !at || !Number(at)) return null;
  return { raw, token: token ?? null, at: Number(at), answeredAt: answeredAt ? Number(answeredAt) : null };
}

/** The send window of creates (see `StepSettings.sendWindowMs`). */
function sendWindowOf(settings: StepSettings): number {
  return settings.sendWindowMs ?? 5_000;
}

/** What is left of a create's send window, for an intent written at `intentAt`. */
export function sendWindowLeft(deps: Pick<StepDeps, 'settings' | 'now'>, intentAt: number): number {
  return sendWindowOf(deps.settings) - (deps.now() - intentAt);
}

/**
 * How long after an intent marker was written an earlier create may still take effect: it was
 * sent within the send window (or never), answered or abandoned within the request timeout,
 * and what it created shows within the reconcile window. Reconcile until then.
 */
function reconcileUntilAge(settings: StepSettings): number {
  return sendWindowOf(settings) + (settings.requestTimeoutMs ?? 30_000) + settings.reconcileWindowMs;
}

/**
 * Until when to reconcile after an earlier create: when Graph answered it (ambiguously), the
 * request is over and only replication can hide what it created — the reconcile window after the
 * answer; when no answer came (timeout, network, a crash), until it can no longer be in flight.
 */
function reconcileDeadline(settings: StepSettings, intentAt: number, answeredAt?: number | null): number {
  return answeredAt ? answeredAt + settings.reconcileWindowMs : intentAt + reconcileUntilAge(settings);
}

/** How long to keep reconciling after `intent` before a new create may be sent (≤ 0: no longer). */
export function reconcileLeft(deps: Pick<StepDeps, 'settings' | 'now'>, intent: Intent): number {
  return reconcileDeadline(deps.settings, intent.at, intent.answeredAt) - deps.now();
}

/**
 * Claims a new create: the marker stored, or null when another attempt claimed it first (a
 * stalled job re-run by a second worker). `replacing` = a marker was there (expired or unreadable).
 */
export async function claimIntent(
  deps: StepDeps,
  instance: InstanceSpec,
  field: string,
  replacing: boolean,
): Promise<Intent | null> {
  const at = deps.now();
  const token = `${at}-${Math.random().toString(36).slice(2, 10)}`;
  const raw = `${token}@${at}`;
  if (replacing) await deps.store.del(instance, [field]);
  const stored = await deps.store.setIfAbsent(instance, field, raw);
  return stored === raw ? { raw, token, at, answeredAt: null } : null;
}

/** Where Graph's answers to two creates differ in what they say about the object. */
export interface AmbiguityRule {
  /** A 404 to the POST may come although the object was created. */
  notFoundMayHaveCreated: boolean;
}

/** Graph documents a 404 from instantiate while the app was in fact created. */
export const INSTANTIATE_AMBIGUITY: AmbiguityRule = { notFoundMayHaveCreated: true };
/** A 404 to POST …/synchronization/jobs names the servicePrincipal (not visible yet): no job was made. */
export const CREATE_JOB_AMBIGUITY: AmbiguityRule = { notFoundMayHaveCreated: false };

/** True when the create may have taken effect although the call did not say so. */
export function isAmbiguous(err: unknown, rule: AmbiguityRule): boolean {
  // Throttled means not processed: a 429/503 with Retry-After, or our own limiter not sending.
  if (errorClassOf(err) === 'throttled') return false;
  if (!(err instanceof GraphError)) return true; // an unknown failure between intent and answer
  if (err.status === null) return true; // timeout / network: we cannot know
  if (err.status >= 500) return true;
  return err.status === 404 && rule.notFoundMayHaveCreated;
}

/**
 * After a failed create: when the object may exist, keeps the marker (with the time of Graph's
 * answer, if it answered) and returns true — the step reconciles by query; otherwise drops the
 * marker (nothing was created) and returns false.
 */
export async function settleFailedCreate(
  deps: StepDeps,
  instance: InstanceSpec,
  field: string,
  intent: Intent,
  err: unknown,
  rule: AmbiguityRule,
): Promise<boolean> {
  if (!isAmbiguous(err, rule)) {
    await deps.store.del(instance, [field]);
    return false;
  }
  // Answered: the request is over; only replication can hide the object now.
  if (err instanceof GraphError && err.status !== null) {
    await deps.store.set(instance, { [field]: `${intent.raw}@${deps.now()}` });
  }
  return true;
}

/** What `postWhileLooking` ends with: Graph's answer, or the objects found while it was awaited. */
export type Raced<T, F> = { created: T; found?: undefined } | { found: F[]; created?: undefined };

/**
 * The POST, and — if Graph is slow to answer — a look for the object it may already have
 * created. A hung create would otherwise hold the instance for the whole request timeout and then
 * the reconcile; Graph usually created the object at once. When `look` finds it, the request is
 * aborted and the objects returned: the intent marker was recorded before the POST and none
 * existed then, so what is found is what this POST created. Slow is counted from when the POST
 * went on the wire (`onSent`), not while our own limiter held it. A POST that fails rejects.
 */
export async function postWhileLooking<T, F>(o: {
  post: (ctl: { signal: AbortSignal; onSent: () => void }) => Promise<T>;
  look: () => Promise<F[]>;
  slowMs: number;
  pollMs: number;
}): Promise<Raced<T, F>> {
  const abort = new AbortController();
  let settled = false;
  let markSent: () => void = () => {};
  const sent = new Promise<void>((r) => (markSent = r));
  const post = o.post({ signal: abort.signal, onSent: () => markSent() }).finally(() => {
    settled = true;
  });
  const outcome = post.then(
    (created) => ({ created }),
    (err: unknown) => ({ err }),
  );
  let timer: NodeJS.Timeout | undefined;
  const pause = (ms: number) =>
    Promise.race([
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      }),
      outcome.then(() => undefined),
    ]).finally(() => clearTimeout(timer));
  const look = (async (): Promise<F[] | null> => {
    await Promise.race([sent, outcome]);
    if (settled) return null;
    await pause(o.slowMs);
    while (!settled) {
      const found = await o.look().catch(() => [] as F[]);
      if (found.length > 0 && !settled) return found;
      await pause(o.pollMs);
    }
    return null;
  })();
  const first = await Promise.race([outcome.then((r) => ({ post: r })), look.then((found) => ({ found }))]);
  if ('found' in first && first.found) {
    abort.abort(new Error('the object was found while its create was still unanswered'));
    return { found: first.found };
  }
  const r = 'post' in first ? first.post : await outcome;
  await look; // ends as soon as the POST has settled
  if ('err' in r) throw r.err;
  return { created: r.created };
}
