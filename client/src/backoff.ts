/**
 * Backoff between failed attempts: exponential, capped, with "equal jitter" (half the
 * exponential delay fixed, the other half random). Jitter spreads a fleet of data planes
 * that all saw the same outage, so they do not return in lockstep; the fixed half keeps
 * every client from retrying at once against a service that is just recovering, which full
 * jitter (anything from 0) allows.
 */

export interface BackoffOptions {
  /** The delay scale of the first retry. @default 500 */
  initialMs: number;
  /** The most any one delay may be. @default 30000 */
  maxMs: number;
}

export const defaultBackoff: Readonly<BackoffOptions> = Object.freeze({ initialMs: 500, maxMs: 30_000 });

/**
 * The delay before the next attempt after `failures` consecutive failures (1 or more):
 * `ceiling = min(maxMs, initialMs * 2^(failures - 1))`, delay in `[ceiling / 2, ceiling)`.
 *
 * @param random A number in [0, 1).
 */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number): number {
  if (!Number.isInteger(failures) || failures < 1) throw new RangeError('failures must be an integer of at least 1');
  // 2^(failures - 1) overflows to Infinity long after it passes any cap; min() takes care of it.
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** (failures - 1));
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Spreads a steady poll interval by ±10 %, so clients started together drift apart instead
 * of polling the snapshot in the same instant forever.
 */
export function jitteredInterval(intervalMs: number, random: () => number): number {
  return Math.floor(intervalMs * (0.9 + random() * 0.2));
}
