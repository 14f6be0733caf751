/**
 * A Graph client for one-shot commands that read (export, diff, deletions, teardown's plan,
 * restart's count): a throttled answer — Graph's 429 or the shared limiter holding the call
 * back — means "not done, wait", so the call waits as long as it is told and is sent again,
 * until a deadline. Workers do the same by delaying their job; a CLI has no job to delay.
 */
import { retryAfterOf } from '../graph/classify-error.ts';
import { errorClassOf } from '../graph/errors.ts';
import type { GraphApi } from '../graph/graph-api.ts';

export function patientGraph(graph: GraphApi, deadlineMs = 10 * 60_000): GraphApi {
  return new Proxy(graph, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        const end = Date.now() + deadlineMs;
        for (;;) {
          try {
            return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (err) {
            if (errorClassOf(err) !== 'throttled' || Date.now() > end) throw err;
            await new Promise((r) => setTimeout(r, retryAfterOf(err) + Math.round(Math.random() * 250)));
          }
        }
      };
    },
  });
}
