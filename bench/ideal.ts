/** The physical limit: how fast Graph's quotas let N instances through, and efficiency against it. */

export interface IdealInput {
  instances: number;
  writesPerInstance: number;
  readsRuPerInstance: number;
  writeLimit: number;
  writeWindowMs: number;
  ruLimit: number;
  ruWindowMs: number;
  /** A job cannot be steady before its first cycle ends. */
  firstCycleMs: number;
}

export interface Ideal {
  /** Seconds the write quota needs for all writes, at exactly the quota's rate. */
  writeBoundSeconds: number;
  /** Seconds the resource-unit bucket needs for all reads and writes. */
  ruBoundSeconds: number;
  /** The binding bound plus the last instance's first cycle: the earliest "all steady". */
  seconds: number;
  instancesPerMinute: number;
}

export function idealOf(i: IdealInput): Ideal {
  const writeBoundSeconds = ((i.instances * i.writesPerInstance) / i.writeLimit) * (i.writeWindowMs / 1000);
  const ruBoundSeconds = ((i.instances * (i.readsRuPerInstance + i.writesPerInstance)) / i.ruLimit) * (i.ruWindowMs / 1000);
  const seconds = Math.max(writeBoundSeconds, ruBoundSeconds) + i.firstCycleMs / 1000;
  return { writeBoundSeconds, ruBoundSeconds, seconds, instancesPerMinute: (i.instances / seconds) * 60 };
}

/** Efficiency = ideal time ÷ actual time (1.0 = at the physical limit). */
export function efficiency(idealSeconds: number, actualSeconds: number): number {
  return actualSeconds > 0 ? idealSeconds / actualSeconds : 0;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
