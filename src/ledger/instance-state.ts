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

export type InstanceState = typeof QUEUED | RunningState | typeof STARTED | WatchState;

/** States past `started`: a pipeline step (a retried start-job, say) must never overwrite them. */
export const PAST_PIPELINE_STATES: readonly WatchState[] = Object.values(LEDGER_STATE);

/** States after which nothing more happens to an instance without an operator. */
export const END_STATES: ReadonlySet<string> = new Set<InstanceState>(['steady', 'quarantined', 'failed', 'timed-out']);

/** States that mean "the job is started" (the poller may still be watching). */
export const STARTED_STATES: ReadonlySet<string> = new Set<InstanceState>([
  STARTED,
  ...PAST_PIPELINE_STATES.filter((s) => s !== 'failed'),
]);
