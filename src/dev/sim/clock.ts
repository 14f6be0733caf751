/**
 * The simulated calendar. It starts at the real date the simulator started, runs `timeScale`
 * times faster than real time, and can be moved forward (`advance`, `set`) so a test can reach a
 * date a year away in one call. Only forward: what already happened keeps its date.
 * Job cycles stay on the (scaled) real-time schedule; the calendar dates credentials
 * (`expires:<ISO date>:…`) and deleted items.
 */

interface Jump {
  /** Real ms at which the calendar was moved. */
  atReal: number;
  /** Simulated ms it moved by (> 0). */
  simMs: number;
}

export class SimClock {
  private jumps: Jump[] = [];

  /** How many times the calendar was moved (a move can bring a date due). */
  get moves(): number {
    return this.jumps.length;
  }

  constructor(
    readonly timeScale: number,
    private readonly startReal: number = Date.now(),
    /** The simulated date at `startReal` (ms since the epoch). */
    private readonly epoch: number = startReal,
  ) {
    if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
  }

  /** Simulated ms since the epoch at real time `real` (default: now). */
  now(real: number = Date.now()): number {
    let offset = 0;
    for (const j of this.jumps) if (j.atReal <= real) offset += j.simMs;
    return this.epoch + (real - this.startReal) * this.timeScale + offset;
  }

  /** Move the calendar forward by `simMs` simulated ms; returns the new simulated now. */
  advance(simMs: number, real: number = Date.now()): number {
    if (!Number.isFinite(simMs) || simMs < 0) throw new Error(`advance needs simulated ms >= 0, got ${simMs}`);
    if (simMs > 0) this.jumps.push({ atReal: real, simMs });
    return this.now(real);
  }

  /** Move the calendar forward to `simDate` (ms); a date already passed is refused. */
  set(simDate: number, real: number = Date.now()): number {
    const current = this.now(real);
    if (!Number.isFinite(simDate) || simDate < current) {
      throw new Error(`the clock only moves forward: ${new Date(simDate).toISOString()} is before now`);
    }
    return this.advance(simDate - current, real);
  }

  /**
   * The real ms at which the calendar reaches `simDate`, given the moves made so far (a date
   * still ahead assumes no further move). Dates before the start map before the start.
   */
  realTimeOf(simDate: number): number {
    let offset = 0;
    let segStart = -Infinity;
    const at = (off: number) => this.startReal + (simDate - this.epoch - off) / this.timeScale;
    for (const j of this.jumps) {
      // Reached by the running clock before this jump?
      const r = at(offset);
      if (r < j.atReal) return Math.max(segStart, r);
      offset += j.simMs;
      // Reached by the jump itself.
      if (this.now(j.atReal) >= simDate) return j.atReal;
      segStart = j.atReal;
    }
    return Math.max(segStart, at(offset));
  }

  /** What `GET /_sim/clock` shows. */
  view(real: number = Date.now()): { now: string; timeScale: number; advancedMs: number } {
    const advancedMs = this.jumps.reduce((n, j) => n + j.simMs, 0);
    return { now: new Date(this.now(real)).toISOString(), timeScale: this.timeScale, advancedMs };
  }
}
