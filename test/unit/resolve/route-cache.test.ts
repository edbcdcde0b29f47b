/**
 * The resolve path's route cache with an injected loader and clock: TTL, negative caching,
 * single flight, stale-if-error within the max-stale bound, the circuit breaker (open,
 * cool-down, half-open probe, its callback), refresh ahead of expiry, and the memory bound
 * with sampled-LRU eviction (no cliff when the working set is slightly over the bound).
 */
import { ServiceUnavailableError } from '#shared/errors/http-errors';
import { RouteCache, type RouteCacheOptions } from '#shared/resolve/route-cache';

interface Value {
  name: string;
  generation: number;
}

/** A loader whose answers the test controls; it counts calls per key. */
class FakeLoader {
  readonly calls: string[] = [];
  values = new Map<string, Value | undefined>();
  failing = false;
  private generation = 0;
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  load = async (key: string): Promise<Value | undefined> => {
    this.calls.push(key);
    if (this.gate !== undefined) await this.gate;
    if (this.failing) throw new ServiceUnavailableError('The route store is unavailable; retry later.', 1);
    if (!this.values.has(key)) return undefined;
    this.generation += 1;
    const value = this.values.get(key);
    return value === undefined ? undefined : { ...value, generation: this.generation };
  };

  callsFor(key: string): number {
    return this.calls.filter((call) => call === key).length;
  }
}

function setup(options: Partial<RouteCacheOptions<string, Value>> = {}) {
  const loader = new FakeLoader();
  const clock = { now: 1_000_000 };
  const cache = new RouteCache<string, Value>({
    load: loader.load,
    keyOf: (key) => key,
    now: () => clock.now,
    ttlMs: 2000,
    negativeTtlMs: 500,
    maxStaleMs: 300_000,
    failureThreshold: 3,
    coolDownMs: 10_000,
    // Off unless a test is about it, so that TTL tests see plain expiry.
    refreshAheadMs: 0,
    ...options,
  });
  loader.values.set('a', { name: 'a', generation: 0 });
  loader.values.set('b', { name: 'b', generation: 0 });
  return { loader, clock, cache };
}

describe('RouteCache', () => {
  it('serves a loaded value from memory within its TTL and loads again after it', async () => {
    const { loader, clock, cache } = setup();
    expect(await cache.get('a')).toEqual({ value: { name: 'a', generation: 1 }, source: 'load', ageMs: 0, ttlMs: 2000, hadExpired: false });
    clock.now += 1999;
    expect(await cache.get('a')).toEqual({ value: { name: 'a', generation: 1 }, source: 'cache', ageMs: 1999, ttlMs: 1 });
    clock.now += 1;
    expect(await cache.get('a')).toMatchObject({ value: { generation: 2 }, source: 'load', hadExpired: true });
    expect(loader.callsFor('a')).toBe(2);
  });

  it('caches an absent value for the negative TTL, so a flood of misses loads once', async () => {
    const { loader, clock, cache } = setup();
    for (let i = 0; i < 100; i += 1) expect((await cache.get('missing')).value).toBeUndefined();
    expect(loader.callsFor('missing')).toBe(1);
    clock.now += 500;
    loader.values.set('missing', { name: 'missing', generation: 0 });
    expect(await cache.get('missing')).toMatchObject({ value: { name: 'missing' }, source: 'load' });
    expect(loader.callsFor('missing')).toBe(2);
  });

  it('shares one load among concurrent misses for the same key, not across keys', async () => {
    const { loader, cache } = setup();
    loader.hold();
    const pending = [cache.get('a'), cache.get('a'), cache.get('a'), cache.get('b')];
    loader.open();
    const results = await Promise.all(pending);
    expect(loader.callsFor('a')).toBe(1);
    expect(loader.callsFor('b')).toBe(1);
    expect(results.map((result) => result.value?.name)).toEqual(['a', 'a', 'a', 'b']);
    expect(new Set(results.slice(0, 3).map((result) => result.value))).toEqual(new Set([results[0]?.value]));
  });

  it('shares one failure among concurrent misses and then loads again', async () => {
    const { loader, cache } = setup();
    loader.failing = true;
    loader.hold();
    const pending = [cache.get('a'), cache.get('a')].map((promise) => promise.catch((error: unknown) => error));
    loader.open();
    for (const error of await Promise.all(pending)) expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(loader.callsFor('a')).toBe(1);
    loader.failing = false;
    expect(await cache.get('a')).toMatchObject({ source: 'load' });
  });

  it('serves the last-known-good value when a load fails, up to the max-stale bound', async () => {
    const { loader, clock, cache } = setup();
    await cache.get('a');
    loader.failing = true;
    clock.now += 60_000;
    expect(await cache.get('a')).toEqual({ value: { name: 'a', generation: 1 }, source: 'stale', ageMs: 60_000, ttlMs: -58_000 });
    // Still failing, now past the bound: the error reaches the caller.
    clock.now += 240_001;
    await expect(cache.get('a')).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('serves a last-known absence when a load fails', async () => {
    const { loader, clock, cache } = setup();
    await cache.get('missing');
    loader.failing = true;
    clock.now += 1000;
    expect(await cache.get('missing')).toEqual({ value: undefined, source: 'stale', ageMs: 1000, ttlMs: -500 });
  });

  it('throws the load error when there is nothing to fall back on', async () => {
    const { loader, cache } = setup();
    loader.failing = true;
    await expect(cache.get('a')).rejects.toThrow('The route store is unavailable; retry later.');
  });

  it('opens the breaker after consecutive failures: no loads during the cool-down, stale or 503 instead', async () => {
    const { loader, clock, cache } = setup();
    await cache.get('a');
    clock.now += 3000;
    loader.failing = true;
    for (let i = 0; i < 3; i += 1) {
      expect(cache.breakerState).toBe('closed');
      // Different keys count too: the breaker guards the table, not one key.
      await cache.get(i === 0 ? 'a' : `k${i}`).catch(() => undefined);
    }
    expect(cache.breakerState).toBe('open');
    const callsWhenOpened = loader.calls.length;

    clock.now += 5000;
    expect(await cache.get('a')).toMatchObject({ source: 'stale', value: { name: 'a' } });
    const refused = await cache.get('b').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ServiceUnavailableError);
    expect(refused).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
    expect(loader.calls.length).toBe(callsWhenOpened);
  });

  it('lets one probe through after the cool-down and closes on its success', async () => {
    const { loader, clock, cache } = setup();
    loader.failing = true;
    for (let i = 0; i < 3; i += 1) await cache.get(`k${i}`).catch(() => undefined);
    clock.now += 10_000;
    expect(cache.breakerState).toBe('half-open');
    loader.failing = false;
    loader.hold();
    const probe = cache.get('a');
    // While the probe is out, other keys do not reach the table.
    await expect(cache.get('b')).rejects.toBeInstanceOf(ServiceUnavailableError);
    loader.open();
    expect(await probe).toMatchObject({ source: 'load', value: { name: 'a' } });
    expect(cache.breakerState).toBe('closed');
    expect(await cache.get('b')).toMatchObject({ source: 'load' });
    expect(loader.callsFor('b')).toBe(1);
  });

  it('opens again for a whole cool-down when the probe fails', async () => {
    const { loader, clock, cache } = setup();
    loader.failing = true;
    for (let i = 0; i < 3; i += 1) await cache.get(`k${i}`).catch(() => undefined);
    clock.now += 10_000;
    await expect(cache.get('a')).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(loader.callsFor('a')).toBe(1);
    expect(cache.breakerState).toBe('open');
    clock.now += 9_999;
    await expect(cache.get('a')).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(loader.callsFor('a')).toBe(1);
    clock.now += 1;
    loader.failing = false;
    expect(await cache.get('a')).toMatchObject({ source: 'load' });
    expect(cache.breakerState).toBe('closed');
  });

  it('resets the failure count on a success', async () => {
    const { loader, cache } = setup();
    loader.failing = true;
    for (let i = 0; i < 2; i += 1) await cache.get(`k${i}`).catch(() => undefined);
    loader.failing = false;
    await cache.get('a');
    loader.failing = true;
    for (let i = 0; i < 2; i += 1) await cache.get(`j${i}`).catch(() => undefined);
    expect(cache.breakerState).toBe('closed');
  });

  it('refreshes a value in its last refreshAheadMs in the background: nobody waits, single flight', async () => {
    const { loader, clock, cache } = setup({ refreshAheadMs: 1000 });
    await cache.get('a');
    clock.now += 999;
    expect(await cache.get('a')).toMatchObject({ source: 'cache', value: { generation: 1 } });
    expect(loader.callsFor('a')).toBe(1);
    clock.now += 1;
    loader.hold();
    // Inside the window: answered from memory at once, one reload started for both callers.
    expect(await cache.get('a')).toMatchObject({ source: 'cache', value: { generation: 1 } });
    expect(await cache.get('a')).toMatchObject({ source: 'cache', value: { generation: 1 } });
    expect(loader.callsFor('a')).toBe(2);
    loader.open();
    await new Promise((resolve) => setImmediate(resolve));
    clock.now += 1500;
    // Past the first load's TTL, but the refreshed value is fresh: still no wait (and, being
    // in its own last second now, it starts the next refresh).
    expect(await cache.get('a')).toMatchObject({ source: 'cache', value: { generation: 2 }, ageMs: 1500 });
    expect(loader.callsFor('a')).toBe(3);
  });

  it('reports an expired copy as held when a caller waits for a refresh already under way', async () => {
    const { loader, clock, cache } = setup({ refreshAheadMs: 1000 });
    await cache.get('a');
    clock.now += 1500;
    loader.hold();
    expect(await cache.get('a')).toMatchObject({ source: 'cache' }); // starts the refresh
    clock.now += 600; // expired while the refresh is still loading
    const waiting = cache.get('a');
    loader.open();
    expect(await waiting).toMatchObject({ source: 'load', hadExpired: true, value: { generation: 2 } });
    expect(loader.callsFor('a')).toBe(2);
  });

  it('refreshes ahead by default in the second half of the TTL', async () => {
    const { loader, clock, cache } = setup({ refreshAheadMs: undefined });
    await cache.get('a');
    clock.now += 999;
    await cache.get('a');
    expect(loader.callsFor('a')).toBe(1);
    clock.now += 1;
    await cache.get('a');
    expect(loader.callsFor('a')).toBe(2);
  });

  it('keeps serving the held value when a background refresh fails, and counts the failure', async () => {
    let opened = 0;
    const { loader, clock, cache } = setup({ refreshAheadMs: 1000, failureThreshold: 1, onBreakerOpen: () => (opened += 1) });
    await cache.get('a');
    loader.failing = true;
    clock.now += 1500;
    expect(await cache.get('a')).toMatchObject({ source: 'cache', value: { generation: 1 } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.breakerState).toBe('open');
    expect(opened).toBe(1);
  });

  it('calls onBreakerOpen each time the breaker opens, and not on failures below the threshold', async () => {
    let opened = 0;
    const { loader, clock, cache } = setup({ onBreakerOpen: () => (opened += 1) });
    loader.failing = true;
    for (let i = 0; i < 2; i += 1) await cache.get(`k${i}`).catch(() => undefined);
    expect(opened).toBe(0);
    await cache.get('k2').catch(() => undefined);
    expect(opened).toBe(1);
    clock.now += 10_000;
    await cache.get('k3').catch(() => undefined); // the probe fails: open again
    expect(opened).toBe(2);
  });

  it('holds values up to maxBytes by their estimated size, not a count of keys', async () => {
    const sizes: Record<string, number> = { a: 400, b: 400, c: 100, d: 100 };
    const { loader, cache } = setup({ maxBytes: 1000, sizeOf: (_value, id) => sizes[id] ?? 0 });
    loader.values.set('c', { name: 'c', generation: 0 });
    loader.values.set('d', { name: 'd', generation: 0 });
    for (const key of ['a', 'b', 'c', 'd']) await cache.get(key);
    expect(cache.size).toBe(4);
    expect(cache.bytes).toBe(1000);
    loader.values.set('e', { name: 'e', generation: 0 });
    sizes.e = 300;
    await cache.get('e');
    expect(cache.bytes).toBeLessThanOrEqual(1000);
    expect(await cache.get('e')).toMatchObject({ source: 'cache' });
  });

  it('evicts the less recently used of two sampled keys', async () => {
    // The sampler draws slot 0 (a) then slot 1 (b): b was used less recently, so b goes.
    const draws = [0, 0.5];
    const { loader, clock, cache } = setup({ maxBytes: 2, sizeOf: () => 1, random: () => draws.shift() ?? 0 });
    loader.values.set('c', { name: 'c', generation: 0 });
    await cache.get('a');
    await cache.get('b');
    await cache.get('a'); // a is now the more recently used
    await cache.get('c'); // over the bound: evicts b
    expect(cache.size).toBe(2);
    clock.now += 1;
    expect(await cache.get('a')).toMatchObject({ source: 'cache' });
    expect(await cache.get('c')).toMatchObject({ source: 'cache' });
    expect(await cache.get('b')).toMatchObject({ source: 'load' });
  });

  it('has no cliff: a round-robin working set 1% over the bound still mostly hits', async () => {
    const { loader, cache } = setup({ maxBytes: 1000, sizeOf: () => 1, ttlMs: 1e12 });
    const keys = Array.from({ length: 1010 }, (_, index) => `r${index}`);
    for (const key of keys) loader.values.set(key, { name: key, generation: 0 });
    for (const key of keys) await cache.get(key);
    let hits = 0;
    for (let round = 0; round < 5; round += 1) {
      for (const key of keys) if ((await cache.get(key)).source === 'cache') hits += 1;
    }
    // Exact LRU would hit 0 times here; the bound itself allows at most 1000 / 1010.
    expect(hits / (5 * keys.length)).toBeGreaterThan(0.8);
    expect(cache.size).toBeLessThanOrEqual(1000);
  });

  it('refuses nonsensical bounds', () => {
    expect(() => setup({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => setup({ failureThreshold: 0 })).toThrow(RangeError);
  });
});
