/**
 * The client's backoff and poll jitter as pure functions: equal jitter within
 * [ceiling / 2, ceiling), a ceiling that doubles up to the cap, and poll intervals within
 * ±10 %. A seeded generator makes the spread checks reproducible.
 */
import { backoffDelay } from '../../../client/index.ts';
import { jitteredInterval } from '../../../client/src/backoff.ts';
import { seededRandom } from '#test/support/seeded-random';

const options = { initialMs: 500, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles its ceiling per failure up to the cap', () => {
    const top = (failures: number): number => backoffDelay(failures, options, () => 0.999_999_999);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(top)).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999]);
    expect(top(10_000)).toBe(29_999);
  });

  it('never waits less than half the ceiling', () => {
    expect([1, 2, 3, 7, 50].map((failures) => backoffDelay(failures, options, () => 0))).toEqual([250, 500, 1000, 15_000, 15_000]);
  });

  it('spreads a fleet over [ceiling / 2, ceiling)', () => {
    const random = seededRandom(7);
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, options, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...delays)).toBeLessThan(4000);
    // Spread, not bunched: every quarter of the range gets a fair share of 2000 draws.
    const quarters = new Map<number, number>();
    for (const delay of delays) {
      const quarter = Math.floor((delay - 2000) / 500);
      quarters.set(quarter, (quarters.get(quarter) ?? 0) + 1);
    }
    expect([...quarters.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const count of quarters.values()) expect(count).toBeGreaterThan(400);
  });

  it('refuses a failure count below 1', () => {
    expect(() => backoffDelay(0, options, Math.random)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, options, Math.random)).toThrow(RangeError);
  });
});

describe('jitteredInterval', () => {
  it('stays within ±10 % of the interval', () => {
    const random = seededRandom(11);
    const intervals = Array.from({ length: 1000 }, () => jitteredInterval(2000, random));
    expect(Math.min(...intervals)).toBeGreaterThanOrEqual(1800);
    expect(Math.max(...intervals)).toBeLessThan(2200);
    expect(new Set(intervals).size).toBeGreaterThan(100);
  });
});
