/**
 * Time as the client sees it: the wall clock (staleness and the disk cache's `confirmedAt`
 * survive restarts, so they are wall-clock milliseconds) and one-shot timers. Injected so
 * that tests drive time by hand instead of waiting for it.
 */

export interface ScheduledTimer {
  cancel(): void;
}

export interface Scheduler {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, after `delayMs`. */
  schedule(delayMs: number, callback: () => void): ScheduledTimer;
}

export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(delayMs, callback) {
    const timer = setTimeout(callback, delayMs);
    // The client's polling must not keep a process alive that has nothing else to do: a
    // service that exits without calling close() still exits.
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
