/** Operator events (webhooks) go through a queue, so delivery retries with backoff survive restarts. */
import type { Queue } from 'bullmq';
import type { WebhookEvent } from '../events/webhook.ts';
import { JOB_POLICIES } from './job-policies.ts';

/** Adds an event once per (instance, type, start): a re-run of the same transition adds nothing. */
export async function enqueueEvent(queue: Queue, event: WebhookEvent, discriminator: string | number): Promise<void> {
  await queue.add(event.type, event, {
    jobId: `${event.batchId}.${event.instanceKey}.${event.type.replace('instance.', 'event-')}-${discriminator}`,
    ...JOB_POLICIES.event,
  });
}
