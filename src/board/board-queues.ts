/**
 * Bull Board adapters for provflow's queues, with masking formatters and the board's access
 * mode. Every provflow queue is registered (a flow spans provflow-steps → provflow-poll and
 * Bull Board can only draw the tree when every queue in it is on the board).
 */
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { QUEUES } from '../flow/queues.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';
import type { BoardQueue } from './board-lanes.ts';
import { maskSensitive, redactText } from './redact.ts';

/**
 * read-only: nothing can be changed (default).
 * retries: operators may retry failed jobs and promote delayed ones, nothing else.
 * full: every Bull Board action (clean, empty, obliterate, edit data…). Not offered by the CLI.
 */
export type BoardMode = 'read-only' | 'retries' | 'full';

const DESCRIPTIONS: Record<string, string> = {
  [QUEUES.steps]: 'Steps 1–7 of every instance (the job name is the step); one flow per instance.',
  [QUEUES.poll]: 'Step 8: the poller watches each started provisioning job until steady state or quarantine.',
  [QUEUES.events]: 'Operator notifications (webhooks).',
  [QUEUES.ops]: 'Day-two operations: rotate, verify, teardown (one job per instance and run; verify-fleet schedules).',
};

/**
 * One adapter per queue, masking job data, return values, progress and names. A tenant's queues
 * (other than `default`'s) are registered as `tenant:queue` (the adapter's name prefix) and shown
 * as `queue (tenant)`, so each tenant's steps, poll, ops and events queues are entries of their own.
 */
export function createQueueAdapters(
  queues: readonly BoardQueue[],
  mode: BoardMode,
  statusHint?: string,
): BullMQAdapter[] {
  return queues.map(({ tenant, queue }) => {
    const description = [DESCRIPTIONS[queue.name] ?? '', statusHint ?? ''].filter(Boolean).join(' ');
    // Passed as a variable: `allowCompletedRetries` is honoured by BaseAdapter but missing from
    // the adapter's option type. Retrying a *completed* step would re-run Graph writes of a
    // finished instance, so the board never offers it.
    const options = {
      readOnlyMode: mode === 'read-only',
      allowRetries: mode !== 'read-only',
      allowCompletedRetries: mode === 'full',
      description,
      ...(tenant === DEFAULT_TENANT ? {} : { prefix: `${tenant}:`, displayName: `${queue.name} (${tenant})` }),
    };
    const adapter = new BullMQAdapter(queue, options);
    adapter.setFormatter('data', (data: unknown) => maskSensitive(data));
    adapter.setFormatter('returnValue', (value: unknown) => maskSensitive(value));
    adapter.setFormatter('progress', (value: unknown) => maskSensitive(value));
    // The name formatter gets the whole job JSON; names are step names, but never trust text.
    adapter.setFormatter('name', (job: { name?: unknown }) => redactText(String(job?.name ?? '')));
    return adapter;
  });
}
