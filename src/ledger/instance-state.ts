/**
 * The instance state machine, in one place: `queued`, then the running state of each step (the
 * step list's), then `started` once the root step hands the instance to the poller, then the
 * poller's states. The ledger's `state` field only ever holds these.
 */
import type { RunningState } from '../steps/index.ts';

/** Registered, no step has run yet. */
export const QUEUED = 'queued';
/** The root step completed: the provisioning job runs, the poller watches it. */
export const STARTED = 'started';

/** What the poller's assessment of a job (classify-job.ts) is recorded as in the ledger. */
export const LEDGER_STATE = {
  starting: 'starting-cycle',
  syncing: 'syncing',
  steady: 'steady',
  quarantined: 'quarantined',
  failed: 'failed',
  'timed-out': 'timed-out',
} as const;
export type WatchState = (typeof LEDGER_STATE)[keyof typeof LEDGER_STATE];

/**
 * `provflow teardown`: `tearing-down` while its job and app are deleted, then `removed` (an end
 * state: nothing of the instance is left in Graph, the ledger keeps its history).
 */
export const TEARING_DOWN = 'tearing-down';
export const REMOVED = 'removed';
type TeardownState = typeof TEARING_DOWN | typeof REMOVED;

export type InstanceState = typeof QUEUED | RunningState | typeof STARTED | WatchState | TeardownState;

/** States past `started`: a pipeline step (a retried start-job, say) must never overwrite them. */
export const PAST_PIPELINE_STATES: readonly (WatchState | TeardownState)[] = [
  ...Object.values(LEDGER_STATE),
  TEARING_DOWN,
  REMOVED,
];

/** States after which nothing more happens to an instance without an operator. */
export const END_STATES: ReadonlySet<string> = new Set<InstanceState>([
  'steady',
  'quarantined',
  'failed',
  'timed-out',
  REMOVED,
]);

/**
 * Day-two operations (rotate, verify, teardown) do not replace an instance's state while they
 * run: they record their own progress in the ledger fields `op`, `opState`, `opError`, and only
 * these values appear in `opState`.
 */
export const OP_STATES = ['queued', 'running', 'done', 'failed'] as const;
export type OpState = (typeof OP_STATES)[number];

/** Which states an operation may start from (teardown: any but removed, which it would redo for nothing). */
export function canStartOp(op: 'rotate' | 'verify' | 'teardown', state: string): boolean {
  if (state === REMOVED) return false;
  if (op === 'teardown') return true;
  return STARTED_STATES.has(state) && state !== TEARING_DOWN;
}

/** States that mean "the job is started" (the poller may still be watching). */
export const STARTED_STATES: ReadonlySet<string> = new Set<InstanceState>([
  STARTED,
  ...Object.values(LEDGER_STATE).filter((s) => s !== 'failed'),
]);
