/**
 * Queue names, shared by workers, the CLI and the board. Every tenant has these queues under its
 * own prefix (`queuesFor` in tenant-queues.ts; the `default` tenant's is `BULLMQ_PREFIX`, default
 * `{provflow}`): the hash tag keeps every key of a tenant's queues in one Redis Cluster slot.
 */
export const QUEUES = {
  /** The steps of every instance's flow (one queue; the job name is the step). */
  steps: 'provflow-steps',
  /** The poller's watch jobs, one per started synchronization job. */
  poll: 'provflow-poll',
  /** Operator notifications (webhooks). */
  events: 'provflow-events',
  /** Day-two operations (rotate, verify, teardown): one job per instance and run. */
  ops: 'provflow-ops',
} as const;

export const ALL_QUEUE_NAMES: readonly string[] = Object.values(QUEUES);

export const DEFAULT_PREFIX = '{provflow}';
