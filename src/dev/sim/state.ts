/** The simulator's mutable state: directory objects, secrets, stats, and the seeded fault choices. */
import { randomUUID } from 'node:crypto';
import { delay } from './http.ts';
import type { SeededRandom } from './prng.ts';
import type { SimulatorSettings } from './settings.ts';
import type { SimApp, SimJob, SimSp } from './directory.ts';
import { SimClock } from './clock.ts';
import { DeletedItems } from './deleted-items.ts';
import { emptyOnboardingStats, OnboardingState, type OnboardingStats } from './onboarding-state.ts';

/** Exact counters; the reliability and performance bars read them. */
export interface SimStats extends OnboardingStats {
  requests: number;
  throttled: number;
  retryAfterViolations: number;
  duplicateApplications: number;
  applications: number;
  servicePrincipals: number;
  jobsByCode: Record<string, number>;
  writes: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  instantiateByDisplayName: Record<string, number>;
  reportsRequests: number;
  reportsThrottled: number;
  faultsInjected: Record<string, number>;
  tokensIssued: number;
  /**
   * The first violations: route, kind (`tenant`: the app+tenant was throttled — a 429 — and this
   * request came anyway; `request`: the same request was repeated before its 503's Retry-After),
   * ms since the caller was told to wait, ms it still had to wait, and its client-request-id.
   */
  violations: SimViolation[];
  /** 429s sent, by route. */
  throttledByRoute: Record<string, number>;
  /** Violations by kind. */
  violationsByKind: { tenant: number; request: number };
  /**
   * Requests inside a Retry-After that the simulator read after the grace, but only because its
   * own event loop had not turned for longer: they may have sat in its socket since before the
   * grace ended, so they are treated as in flight (served, not counted as violations). Kept
   * apart so a busy simulator cannot hide what it did.
   */
  lateReadsExcused: number;
  /**
   * Requests inside a Retry-After that were refused but not counted: they arrived within the
   * grace (or late only because the simulator stalled) on a connection that had not carried the
   * throttling answer, so they can have been in flight when it was sent.
   */
  inFlightRefused: number;
  /** The longest the simulator's own event loop went without turning while requests waited (ms). */
  maxSimStallMs: number;
}

/** One Retry-After violation, as recorded (see `SimStats.violations`). */
export interface SimViolation {
  route: string;
  kind: 'tenant' | 'request';
  sinceToldMs: number;
  untilFreeMs: number;
  clientRequestId: string | null;
  /** User-Agent of the violating request, and of the request whose throttling answer told the caller to wait. */
  who: string | null;
  toldWho: string | null;
  /** How long the simulator's loop had not turned when it read this request (ms). */
  simStallMs: number;
}

const emptyStats = (): SimStats => ({
  requests: 0,
  throttled: 0,
  retryAfterViolations: 0,
  duplicateApplications: 0,
  applications: 0,
  servicePrincipals: 0,
  jobsByCode: {},
  writes: 0,
  byRoute: {},
  byStatus: {},
  instantiateByDisplayName: {},
  reportsRequests: 0,
  reportsThrottled: 0,
  faultsInjected: {},
  tokensIssued: 0,
  violations: [],
  violationsByKind: { tenant: 0, request: 0 },
  lateReadsExcused: 0,
  inFlightRefused: 0,
  maxSimStallMs: 0,
  throttledByRoute: {},
  ...emptyOnboardingStats(),
});

export class SimState {
  apps = new Map<string, SimApp>();
  sps = new Map<string, SimSp>();
  jobs = new Map<string, SimJob>();
  /** Every job ever created, deleted ones too: their provisioning logs outlive them. */
  logJobs = new Map<string, SimJob>();
  secrets = new Map<string, { key: string; value: string }[]>();
  /** Assignments, edited schemas, on-demand runs (src/dev/sim/onboarding-state.ts). */
  readonly onboarding = new OnboardingState();
  stats: SimStats = emptyStats();
  readonly timers = new Set<NodeJS.Timeout>();
  /** The simulated calendar (credential expiry, deletion dates). */
  clock: SimClock;
  /** Soft-deleted applications and service principals (`/directory/deletedItems`). */
  deleted = new DeletedItems();
  /**
   * Jobs that may have something due at a future cycle (an expiring credential, staged
   * deletions), with the real ms before which nothing can be due unless the calendar moves.
   */
  readonly watched = new Map<string, { at: number; moves: number }>();

  constructor(
    readonly tenantId: string,
    readonly random: SeededRandom,
    readonly settings: () => SimulatorSettings,
    readonly timeScale = 1,
  ) {
    this.clock = new SimClock(timeScale);
  }

  reset(): void {
    this.apps.clear();
    this.sps.clear();
    this.jobs.clear();
    this.logJobs.clear();
    this.secrets.clear();
    this.onboarding.reset();
    this.stats = emptyStats();
    this.clock = new SimClock(this.timeScale);
    this.deleted = new DeletedItems();
    this.watched.clear();
  }

  sleep(ms: number): Promise<void> {
    return delay(ms, this.timers);
  }

  private lag(): number {
    const { min, max } = this.settings().replicationLagMs;
    return max > 0 ? this.random.int(min, max) : 0;
  }

  createApp(templateId: string, displayName: string, now: number): { app: SimApp; sp: SimSp } {
    const appId = this.random.uuid();
    const lag = this.lag();
    const app: SimApp = {
      id: this.random.uuid(),
      appId,
      displayName,
      applicationTemplateId: templateId,
      createdAt: now,
      visibleAt: now + lag,
    };
    const sp: SimSp = {
      id: this.random.uuid(),
      appId,
      displayName,
      applicationTemplateId: templateId,
      createdAt: now,
      visibleAt: now + lag + this.random.int(0, Math.round(lag / 4)),
    };
    this.apps.set(app.id, app);
    this.sps.set(sp.id, sp);
    const n = (this.stats.instantiateByDisplayName[displayName] ?? 0) + 1;
    this.stats.instantiateByDisplayName[displayName] = n;
    // A name whose earlier application was deleted is free again.
    if (n - this.deleted.deletedByDisplayName(displayName) > 1) this.stats.duplicateApplications++;
    return { app, sp };
  }

  /** null when a job from this template already exists and the settings refuse a second (409). */
  createJob(sp: SimSp, templateId: string, now: number): SimJob | null {
    const base = `${templateId}.${this.tenantId.replace(/-/g, '')}.${sp.appId.replace(/-/g, '')}`;
    const existing = [...this.jobs.values()].filter((j) => j.spId === sp.id && j.templateId === templateId);
    if (existing.length && this.settings().secondJobFromSameTemplate === 'conflict') return null;
    // Microsoft does not document a second job from one template; accepted, it gets a suffix.
    const id = existing.length || this.jobs.has(base) ? `${base}.${randomUUID().slice(0, 4)}` : base;
    const job: SimJob = {
      id,
      templateId,
      spId: sp.id,
      appId: sp.appId,
      spDisplayName: sp.displayName,
      createdAt: now,
      visibleAt: now + Math.round(this.lag() / 2),
      startedAt: null,
      pausedAt: null,
      deletedAt: null,
      runs: [],
      frozenStatus: null,
      seed: this.random.int(0, 1_000_000, id),
    };
    this.jobs.set(id, job);
    this.logJobs.set(id, job);
    return job;
  }

  /** Deleted: gone from the API, its provisioning logs kept (audit records). */
  deleteJob(job: SimJob, now: number): void {
    const run = job.runs[job.runs.length - 1];
    if (run && run.endedAt === null) run.endedAt = job.pausedAt ?? now;
    job.deletedAt = now;
    this.jobs.delete(job.id);
  }

  /** The seeded decision for an instantiate: a fault after creating the app, or none. */
  ambiguousInstantiate(displayName: string): '404' | '500' | '504' | 'hang' | null {
    const rate = this.settings().ambiguousInstantiateRate;
    if (rate <= 0) return null;
    // Keyed by name and attempt so a re-run with the same seed makes the same choices.
    const attempt = this.stats.instantiateByDisplayName[displayName] ?? 0;
    const r = this.random.forKey(`ambiguous|${displayName}|${attempt}`);
    if (r >= rate) return null;
    const kinds = ['404', '500', '504', 'hang'] as const;
    return kinds[Math.floor((r / rate) * kinds.length)] ?? '500';
  }
}
