/**
 * What every step gets and gives. Steps are plain async functions `(deps, input) => output`
 * that never import BullMQ: the processor adapter (src/flow/processor.ts) turns their
 * outcomes (a value, a `StepWait`, a classified error) into queue operations.
 */
import type { GraphApi, SecretPair } from '../graph/graph-api.ts';
import type { Logger } from '../logger.ts';
import type { InstanceIds, InstanceSpec } from './instance.ts';

export type { InstanceIds, InstanceSpec } from './instance.ts';

/** A step's input: the instance, what the previous step produced, and its own state saved across waits. */
export interface StepInput<S = Record<string, unknown>> {
  instance: InstanceSpec;
  prev: InstanceIds;
  state: S;
}

/** Per-instance durable fields in Redis (the ledger hash): markers for look-before-you-act. */
export interface InstanceStore {
  get(instance: InstanceSpec, fields: string[]): Promise<Record<string, string | null>>;
  set(instance: InstanceSpec, fields: Record<string, string | number | boolean>): Promise<void>;
  /** Atomically sets `field` when absent; returns the value now stored (ours or the earlier one). */
  setIfAbsent(instance: InstanceSpec, field: string, value: string): Promise<string>;
  del(instance: InstanceSpec, fields: string[]): Promise<void>;
  /** Per-batch cache (template name → id) so a batch of 1,000 resolves its template once. */
  getBatchCache(batchId: string, key: string): Promise<string | null>;
  setBatchCache(batchId: string, key: string, value: string): Promise<void>;
  /** The instance's sealed credentials (never in job data), and their removal once saved to Graph. */
  getSealedCredentials(instance: InstanceSpec): Promise<string | null>;
  deleteSealedCredentials(instance: InstanceSpec): Promise<void>;
}

/** Opens sealed credentials; only the two steps that send them to Graph call it. */
export interface CredentialVault {
  open(sealed: string, instance: InstanceSpec): Promise<SecretPair[]>;
}

/** Tunables steps read (already adapted to the simulator's time scale in tests and the demo). */
export interface StepSettings {
  /** Consecutive successful reads that count as "replicated". */
  replicationReadsInARow: number;
  /** Delay between replication reads. */
  replicationPollMs: number;
  /** Give up on replication after this long (permanent failure). */
  replicationTimeoutMs: number;
  /**
   * After an ambiguous create, keep reconciling by query this long before creating again —
   * counted from when the earlier request can last have been in flight (its intent marker plus
   * `sendWindowMs` plus `requestTimeoutMs`), or from Graph's answer when it answered: a slow
   * POST still running in a worker that lost its job lock must not be raced by a second one.
   * See `reconcileDeadline` (create-once.ts).
   */
  reconcileWindowMs: number;
  /** The Graph request timeout (GRAPH_REQUEST_TIMEOUT_MS). Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * A create (instantiate, job) goes on the wire within this long of its intent marker, or not
   * at all: with the request timeout it bounds how long an earlier attempt can be in flight.
   * Default 5 s.
   */
  sendWindowMs?: number;
  /**
   * An instantiate still unanswered after this long is looked for by query (every
   * `replicationPollMs`) while it runs: Graph may have created the app and be slow to say so.
   * Default 2 × replicationPollMs.
   */
  slowInstantiateMs?: number;
  /**
   * How long assign-groups waits for an app role the first provisioning cycle imports (AWS
   * Single-Account Access imports IAM roles) before it fails the instance naming the role. Default 1 h.
   */
  roleImportTimeoutMs?: number;
}

/** Everything a step may touch, built once in the composition root. */
export interface StepDeps {
  graph: GraphApi;
  store: InstanceStore;
  vault: CredentialVault;
  settings: StepSettings;
  logger: Logger;
  now: () => number;
}

/**
 * Thrown by a step that must wait (replication, reconcile) without holding a worker slot:
 * the processor saves `state` in the job and moves it to delayed. Not an error, not an attempt.
 */
export class StepWait extends Error {
  override readonly name = 'StepWait';
  constructor(
    readonly delayMs: number,
    readonly state: Record<string, unknown>,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A step function. */
export type StepFn = (deps: StepDeps, input: StepInput) => Promise<InstanceIds>;

/**
 * What a step file exports: everything the flow needs to know about the step, in the step's own
 * file. The step list (./index.ts) orders them and derives the rest.
 */
export interface StepDeclaration<N extends string = string, R extends string = string> {
  /** Also the BullMQ job name and the last part of the job id. */
  readonly name: N;
  /** The ledger state shown while the step runs (and waits). */
  readonly runningState: R;
  /** Transient failures only: throttling and waits spend no attempt. Backoff is exponential from `backoffMs`. */
  readonly retry: { readonly attempts: number; readonly backoffMs: number };
  /** The ids earlier steps must have provided; checked before `run`. */
  readonly needs: readonly (keyof InstanceIds)[];
  /**
   * Whether the instance has anything for this step to do; absent: every instance. A step that
   * does not apply is left out of the instance's flow (no job, no Redis round trips), so `run`
   * must treat such an instance as a no-op too: flows built before omission still run it.
   */
  readonly appliesTo?: (instance: InstanceSpec) => boolean;
  readonly run: StepFn;
}

/** Declares a step; `const` keeps its name and running state literal, so the step list can derive types from them. */
export function defineStep<const N extends string, const R extends string>(
  d: StepDeclaration<N, R>,
): StepDeclaration<N, R> {
  return Object.freeze(d);
}

/** Requires a predecessor's id, failing loudly if the chain was built wrong. */
export function need<K extends keyof InstanceIds>(prev: InstanceIds, key: K): NonNullable<InstanceIds[K]> {
  const v = prev[key];
  if (v === undefined || v === null) throw new Error(`internal: previous step did not provide ${key}`);
  return v as NonNullable<InstanceIds[K]>;
}
