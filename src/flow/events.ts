/** Operator events (webhooks) go through a queue, so delivery retries with backoff survive restarts. */
import type { Queue } from 'bullmq';
import type { WebhookEvent } from '../poller/webhook.ts';

/** Adds an event once per (instance, type, start): a re-run of the same transition adds nothing. */
export async function enqueueEvent(queue: Queue, event: WebhookEvent, discriminator: string | number): Promise<void> {
  await queue.add(event.type, event, {
    jobId: `${event.batchId}.${event.instanceKey}.${event.type.replace('instance.', 'event-')}-${discriminator}`,
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 14 * 24 * 3600 },
  });
}
