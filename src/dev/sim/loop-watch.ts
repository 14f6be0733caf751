/**
 * Watches this process's event loop so Retry-After is judged on when a request can have arrived:
 * a request read during or just after a stall may have waited in its socket since the stall began.
 */
/** How often the simulator notes that its event loop turned (ms). */
const LOOP_TICK_MS = 5;
/** A tick later than this (beyond its period) is a stall: the loop could not read its sockets. */
const STALL_MIN_MS = 20;

export interface LoopWatch {
  /** The earliest moment a request read now can have arrived, and how long the loop stalled before it. */
  earliestArrivalOf(readAt: number): { earliest: number; stallMs: number };
  stop(): void;
}

/** Starts the watch (an unref'd timer: it never keeps the process alive). */
export function watchEventLoop(): LoopWatch {
  // When this process's event loop last turned (a timer ran), and the last stall it noticed (a
  // tick that came late). A request read during a stall, or in the backlog just after one, may
  // have arrived any time since the stall began: the simulator, not the caller, was late.
  let loopTurnedAt = Date.now();
  // Set when a late tick reveals a stall, cleared in the same loop turn's check phase: requests
  // read in between were read by the poll phase right after the stall — its backlog.
  let backlogOf: { from: number; to: number } | null = null;
  const loopTick = setInterval(() => {
    const now = Date.now();
    if (now - loopTurnedAt > LOOP_TICK_MS + STALL_MIN_MS) {
      backlogOf = { from: loopTurnedAt + LOOP_TICK_MS, to: now };
      setImmediate(() => {
        backlogOf = null;
      });
    }
    loopTurnedAt = now;
  }, LOOP_TICK_MS);
  loopTick.unref();
  /** The earliest moment a request read now can have arrived, and how long the loop stalled before it. */
  const earliestArrivalOf = (readAt: number): { earliest: number; stallMs: number } => {
    // Stalled inside this turn (timers have not run since): anything read now may be that old.
    if (readAt - loopTurnedAt > LOOP_TICK_MS + STALL_MIN_MS)
      return { earliest: loopTurnedAt, stallMs: readAt - loopTurnedAt };
    if (backlogOf) return { earliest: backlogOf.from, stallMs: backlogOf.to - backlogOf.from };
    return { earliest: readAt, stallMs: 0 };
  };
  return { earliestArrivalOf, stop: () => clearInterval(loopTick) };
}
