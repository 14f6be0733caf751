/**
 * Microsoft's published per app+tenant limits, the one copy: the config defaults, the limiter's
 * defaults and the simulator's "microsoft" profile all read it.
 */

/** Quotas per tenant (Microsoft's by default; configurable). */
export interface GraphLimits {
  writeLimit: number;
  writeWindowMs: number;
  ruLimit: number;
  ruWindowMs: number;
  reportsLimit: number;
  reportsWindowMs: number;
}

/**
 * Identity writes: 3,000 per 150 s. Resource units: 3,500 per 10 s (the small-tenant tier; M 5,000,
 * L 8,000). Reports: 5 requests per 10 s.
 */
export const MICROSOFT_LIMITS: Readonly<GraphLimits> = Object.freeze({
  writeLimit: 3000,
  writeWindowMs: 150_000,
  ruLimit: 3500,
  ruWindowMs: 10_000,
  reportsLimit: 5,
  reportsWindowMs: 10_000,
});
