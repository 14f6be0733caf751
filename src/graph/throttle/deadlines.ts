/**
 * "Not before" times per key, in this process's memory: the limiter's local view of tenant
 * pauses and the Graph client's per-request holds after a 503. A deadline is extended, never
 * shortened; an expired one is dropped when read.
 */
export class Deadlines {
  private readonly until = new Map<string, number>();

  /** Nothing for `key` before `ms` from now (or later, if already so). */
  extend(key: string, ms: number): void {
    const now = Date.now();
    // Keys are few (tenants) or short-lived (held requests): sweep only if they pile up.
    if (this.until.size > 10_000) for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
    this.until.set(key, Math.max(this.until.get(key) ?? 0, now + Math.ceil(ms)));
  }

  /** Ms left before `key` may go (0 when free). */
  remainingMs(key: string): number {
    const t = this.until.get(key);
    if (t === undefined) return 0;
    const left = t - Date.now();
    if (left <= 0) this.until.delete(key);
    return Math.max(0, left);
  }
}
