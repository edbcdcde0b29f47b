/**
 * The route cache under synthetic traffic, with a simulated clock and an instant loader (the
 * cache's policy, not DynamoDB, is what is measured), against the cache as it was before
 * (a 1000-entry exact LRU that reloaded an expired route while its caller waited).
 *
 * - Hit ratio with 1010 routes read round-robin: under the default memory budget, and with a
 *   budget that holds only about 1000 of them (1% over), where exact LRU misses every time.
 * - Callers that wait for a route the cache holds: steady traffic (every route asked every
 *   200–600 ms) and sparse traffic (exponential gaps, mean 1.5 s), TTL 2 s, 2 simulated
 *   minutes. A wait is a load that a caller awaited while an expired copy was held.
 */
import { RouteCache } from '#shared/resolve/route-cache';
import { approximateRouteBytes } from '#shared/resolve/route-size';
import type { Route } from '#shared/domain/route.schema';
import { seededRandom } from '#test/support/seeded-random';

function route(index: number): Route {
  return {
    tenant: `tenant-${index % 97}`,
    service: `service-${index}`,
    env: 'prod',
    versions: {
      v1: { url: `https://service-${index}-v1.example.com`, weight: 90, state: 'active' },
      v2: { url: `https://service-${index}-v2.example.com`, weight: 10, state: 'active' },
    },
    defaultVersion: 'v1',
    rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
    revision: 3,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T11:00:00.000Z',
    updatedBy: 'bench',
  };
}

/** The cache as it was: exact LRU over a fixed count, no refresh ahead. */
class PreviousCache {
  private readonly entries = new Map<number, number>();
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}
  /** 'hit', 'miss' (nothing held) or 'wait' (an expired copy held, reloaded while waiting). */
  get(key: number, now: number): 'hit' | 'miss' | 'wait' {
    const loadedAt = this.entries.get(key);
    if (loadedAt !== undefined && now - loadedAt < this.ttlMs) {
      this.entries.delete(key);
      this.entries.set(key, loadedAt);
      return 'hit';
    }
    this.entries.delete(key);
    this.entries.set(key, now);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    return loadedAt === undefined ? 'miss' : 'wait';
  }
}

function newCache(routes: readonly Route[], clock: { now: number }, options: { maxBytes?: number; refreshAheadMs?: number } = {}) {
  return new RouteCache<number, Route>({
    load: async (index) => routes[index],
    keyOf: (index) => String(index),
    now: () => clock.now,
    sizeOf: approximateRouteBytes,
    ...options,
  });
}

export interface CacheFigures {
  routeBytes: number;
  roundRobinDefault: { ours: number; previous: number };
  roundRobinOverBudget: { ours: number; previous: number };
  steadyWaits: { ours: number; previous: number; requests: number };
  sparseWaits: { ours: number; previous: number; requests: number };
}

async function roundRobin(routes: readonly Route[], maxBytes: number | undefined): Promise<{ ours: number; previous: number }> {
  const clock = { now: 0 };
  const cache = newCache(routes, clock, maxBytes === undefined ? {} : { maxBytes });
  const previous = new PreviousCache(1000, 2000);
  let ours = 0;
  let theirs = 0;
  let count = 0;
  // TTL is not what is measured here: 1010 gets within 2 s.
  for (let round = 0; round < 6; round += 1) {
    for (let index = 0; index < routes.length; index += 1) {
      const hit = (await cache.get(index)).source === 'cache';
      const previousHit = previous.get(index, clock.now) === 'hit';
      if (round > 0) {
        count += 1;
        if (hit) ours += 1;
        if (previousHit) theirs += 1;
      }
    }
  }
  return { ours: ours / count, previous: theirs / count };
}

/** Requests at the given gaps for `routeCount` routes over `durationMs`, in time order. */
async function waits(
  routes: readonly Route[],
  gap: () => number,
  durationMs: number,
): Promise<{ ours: number; previous: number; requests: number }> {
  const clock = { now: 0 };
  const cache = newCache(routes, clock);
  const previous = new PreviousCache(1000, 2000);
  const next = routes.map(() => gap());
  let ours = 0;
  let theirs = 0;
  let requests = 0;
  for (;;) {
    let index = 0;
    for (let candidate = 1; candidate < next.length; candidate += 1) {
      if ((next[candidate] ?? Infinity) < (next[index] ?? Infinity)) index = candidate;
    }
    const at = next[index] ?? Infinity;
    if (at > durationMs) break;
    clock.now = at;
    const result = await cache.get(index);
    // Let background refreshes settle, as the instant loader would between requests.
    await new Promise((resolve) => setImmediate(resolve));
    if (at > 10_000) {
      requests += 1;
      if (result.source === 'load' && result.hadExpired === true) ours += 1;
      if (previous.get(index, at) === 'wait') theirs += 1;
    } else {
      previous.get(index, at);
    }
    next[index] = at + gap();
  }
  return { ours, previous: theirs, requests };
}

export async function measureRouteCache(): Promise<CacheFigures> {
  const routes = Array.from({ length: 1010 }, (_, index) => route(index));
  // The estimate of the average route here, with the cache ids this simulation uses.
  const routeBytes = Math.round(routes.reduce((sum, item, index) => sum + approximateRouteBytes(item, String(index)), 0) / routes.length);
  const random = seededRandom(42);
  const hundred = routes.slice(0, 100);
  return {
    routeBytes,
    roundRobinDefault: await roundRobin(routes, undefined),
    roundRobinOverBudget: await roundRobin(routes, 1000 * routeBytes),
    steadyWaits: await waits(hundred, () => 200 + 400 * random(), 130_000),
    sparseWaits: await waits(hundred, () => -1500 * Math.log(1 - random()), 130_000),
  };
}
