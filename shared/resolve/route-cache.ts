/**
 * The route cache of the resolve path, one per execution environment (ARCHITECTURE.md,
 * "Resolve: the hot path"). It trades a little freshness for latency and availability:
 *
 * - **TTL.** A loaded route is served from memory for `ttlMs` (default 2 s); an absent route
 *   for `negativeTtlMs` (default 1 s), so a flood of requests for a missing route does not
 *   reach the table. Together with the eventually consistent read behind it, a change
 *   reaches resolve within about `ttlMs` plus DynamoDB's replication delay.
 * - **Refresh ahead.** A request that finds a value within `refreshAheadMs` of its expiry
 *   (default the second half of its TTL) is answered from memory at once and starts a
 *   reload in the background, so a route that keeps getting traffic is never waited for.
 *   A value past its TTL is not served while the store answers (the freshness bound of
 *   API.md): its caller waits for the reload.
 * - **Single flight.** Concurrent misses and refreshes for one key share one load.
 * - **Stale-if-error.** When a load fails (after the SDK's own retries), the last answer
 *   loaded for the key (a route, or its absence) is served if it is at most `maxStaleMs` old
 *   (default 5 min); otherwise the load's error is thrown.
 * - **Circuit breaker.** After `failureThreshold` consecutive failed loads (default 5, any
 *   key, background refreshes included), the table is not called for `coolDownMs` (default
 *   5 s): requests get the last-known-good answer, or a 503 with `Retry-After` if there is
 *   none. After the cool-down one load goes through as a probe (half-open): its success
 *   closes the breaker, its failure opens it again for another cool-down. `onBreakerOpen`
 *   is called each time it opens.
 * - **Bounded by memory.** The values held add up to at most `maxBytes` (default 32 MiB) by
 *   `sizeOf`'s estimate, not to a fixed count of keys, so many small routes fit where a few
 *   big ones would. Beyond it, of two keys drawn at random the less recently used is
 *   evicted (sampled LRU). Exact LRU misses every time when a working set slightly larger
 *   than the cache is read round-robin; random sampling degrades gradually instead.
 */
import { ServiceUnavailableError } from '../errors/http-errors.ts';

export interface RouteCacheOptions<K, V> {
  /** Loads the current value for a key; `undefined` means absent. */
  load: (key: K) => Promise<V | undefined>;
  /** The cache key of `key`. */
  keyOf: (key: K) => string;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** How long a loaded value is fresh. @default 2000 */
  ttlMs?: number;
  /** How long an absent value is fresh. @default 1000 */
  negativeTtlMs?: number;
  /** A hit this close to expiry starts a background reload. @default half the TTL */
  refreshAheadMs?: number;
  /** How old a value may be when it is served because loading failed. @default 300000 */
  maxStaleMs?: number;
  /** Most bytes held, by `sizeOf`'s estimate. @default 33554432 (32 MiB) */
  maxBytes?: number;
  /** Approximate bytes a value (or an absence) takes in memory. @default 1 KiB each */
  sizeOf?: (value: V | undefined, id: string) => number;
  /** Consecutive failed loads that open the breaker. @default 5 */
  failureThreshold?: number;
  /** How long an open breaker keeps loads away from the table. @default 5000 */
  coolDownMs?: number;
  /** Called whenever the breaker opens (after the threshold, or a failed probe). */
  onBreakerOpen?: () => void;
  /** A source of numbers in [0, 1) for picking eviction candidates. @default Math.random */
  random?: () => number;
}

/**
 * Where an answer came from: memory within its TTL, a load (of a key held before but expired,
 * or not held), or memory after a failure (or while the breaker is open).
 */
type CacheSource = 'cache' | 'load' | 'stale';

export interface CacheResult<V> {
  value: V | undefined;
  source: CacheSource;
  /** Age of the value in milliseconds (0 for a fresh load). */
  ageMs: number;
  /** Freshness left in milliseconds: the TTL for a fresh load, negative once expired. */
  ttlMs: number;
  /** For a load: whether an expired value for the key was held (RFC 9211 `fwd=stale`). */
  hadExpired?: boolean;
}

type BreakerState = 'closed' | 'open' | 'half-open';

interface Entry<V> {
  value: V | undefined;
  loadedAt: number;
  bytes: number;
  /** Logical time of the last use, for sampled LRU. */
  usedAt: number;
  /** Index in `slots`, for O(1) random sampling and removal. */
  slot: number;
}

export class RouteCache<K, V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** The keys held, in no order: random access for eviction sampling. */
  private readonly slots: string[] = [];
  private readonly inFlight = new Map<string, Promise<CacheResult<V>>>();
  private readonly load: (key: K) => Promise<V | undefined>;
  private readonly keyOf: (key: K) => string;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly refreshAheadMs: number | undefined;
  private readonly maxStaleMs: number;
  private readonly maxBytes: number;
  private readonly sizeOf: (value: V | undefined, id: string) => number;
  private readonly failureThreshold: number;
  private readonly coolDownMs: number;
  private readonly onBreakerOpen: () => void;
  private readonly random: () => number;
  private bytesHeld = 0;
  private tick = 0;
  private consecutiveFailures = 0;
  private openUntil = 0;
  private probing = false;

  constructor(options: RouteCacheOptions<K, V>) {
    this.load = options.load;
    this.keyOf = options.keyOf;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? 2000;
    this.negativeTtlMs = options.negativeTtlMs ?? 1000;
    this.refreshAheadMs = options.refreshAheadMs;
    this.maxStaleMs = options.maxStaleMs ?? 300_000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.sizeOf = options.sizeOf ?? (() => 1024);
    this.failureThreshold = options.failureThreshold ?? 5;
    this.coolDownMs = options.coolDownMs ?? 5000;
    this.onBreakerOpen = options.onBreakerOpen ?? (() => undefined);
    this.random = options.random ?? Math.random;
    if (this.maxBytes < 1) throw new RangeError('maxBytes must be at least 1');
    if (this.failureThreshold < 1) throw new RangeError('failureThreshold must be at least 1');
  }

  /** The breaker's state now. */
  get breakerState(): BreakerState {
    if (this.consecutiveFailures < this.failureThreshold) return 'closed';
    return this.probing || this.now() >= this.openUntil ? 'half-open' : 'open';
  }

  /** Number of keys held. */
  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held, by `sizeOf`. */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** Forgets every value and closes the breaker. */
  clear(): void {
    this.entries.clear();
    this.slots.length = 0;
    this.bytesHeld = 0;
    this.consecutiveFailures = 0;
    this.openUntil = 0;
    this.probing = false;
  }

  /** The value for `key`: fresh from memory, loaded, or stale after a failed load. */
  async get(key: K): Promise<CacheResult<V>> {
    const id = this.keyOf(key);
    const now = this.now();
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      const ttl = entry.value === undefined ? this.negativeTtlMs : this.ttlMs;
      const age = now - entry.loadedAt;
      if (age < ttl) {
        this.tick += 1;
        entry.usedAt = this.tick;
        if (age >= ttl - (this.refreshAheadMs ?? ttl / 2)) this.refreshInBackground(key, id, now);
        return { value: entry.value, source: 'cache', ageMs: age, ttlMs: ttl - age };
      }
    }
    const pending = this.inFlight.get(id);
    if (pending !== undefined) {
      // A background refresh this caller now waits for: it held an expired copy (fwd=stale).
      if (entry === undefined) return pending;
      const result = await pending;
      return result.source === 'load' ? { ...result, hadExpired: true } : result;
    }

    if (!this.mayCallStore(now)) {
      return this.staleOr(id, now, () => {
        const seconds = Math.max(1, Math.ceil((this.openUntil - now) / 1000));
        return new ServiceUnavailableError('The route store is unavailable; retry later.', seconds);
      });
    }
    return this.startLoad(key, id, entry !== undefined);
  }

  /** Starts the one load of `id`, shared by every caller until it settles. */
  private startLoad(key: K, id: string, hadExpired: boolean): Promise<CacheResult<V>> {
    const loading = this.loadAndStore(key, id, hadExpired).finally(() => {
      this.inFlight.delete(id);
    });
    this.inFlight.set(id, loading);
    return loading;
  }

  /** A reload nobody waits for; its failure counts for the breaker and is otherwise dropped. */
  private refreshInBackground(key: K, id: string, now: number): void {
    if (this.inFlight.has(id) || !this.mayCallStore(now)) return;
    this.startLoad(key, id, false).catch(() => undefined);
  }

  /** Whether a load may go to the store now; claims the probe when half-open. */
  private mayCallStore(now: number): boolean {
    if (this.consecutiveFailures < this.failureThreshold) return true;
    if (this.probing || now < this.openUntil) return false;
    this.probing = true;
    return true;
  }

  private async loadAndStore(key: K, id: string, hadExpired: boolean): Promise<CacheResult<V>> {
    let value: V | undefined;
    try {
      value = await this.load(key);
    } catch (error) {
      const now = this.now();
      this.recordFailure(now);
      return this.staleOr(id, now, () => error);
    }
    this.consecutiveFailures = 0;
    this.probing = false;
    this.store(id, value, this.now());
    return {
      value,
      source: 'load',
      ageMs: 0,
      ttlMs: value === undefined ? this.negativeTtlMs : this.ttlMs,
      hadExpired,
    };
  }

  private recordFailure(now: number): void {
    this.consecutiveFailures += 1;
    if (this.probing || this.consecutiveFailures >= this.failureThreshold) {
      this.openUntil = now + this.coolDownMs;
      this.onBreakerOpen();
    }
    this.probing = false;
  }

  private staleOr(id: string, now: number, failure: () => unknown): CacheResult<V> {
    const entry = this.entries.get(id);
    if (entry !== undefined && now - entry.loadedAt <= this.maxStaleMs) {
      const ttl = entry.value === undefined ? this.negativeTtlMs : this.ttlMs;
      const age = now - entry.loadedAt;
      return { value: entry.value, source: 'stale', ageMs: age, ttlMs: ttl - age };
    }
    throw failure();
  }

  /** Stores a loaded value, then evicts until the estimate is within `maxBytes`. */
  private store(id: string, value: V | undefined, now: number): void {
    const bytes = this.sizeOf(value, id);
    this.tick += 1;
    const existing = this.entries.get(id);
    if (existing !== undefined) {
      this.bytesHeld += bytes - existing.bytes;
      existing.value = value;
      existing.loadedAt = now;
      existing.bytes = bytes;
      existing.usedAt = this.tick;
    } else {
      this.entries.set(id, { value, loadedAt: now, bytes, usedAt: this.tick, slot: this.slots.length });
      this.slots.push(id);
      this.bytesHeld += bytes;
    }
    // The value just stored is never its own victim, unless it alone is over the bound.
    while (this.bytesHeld > this.maxBytes && this.slots.length > 1) this.evictOne(id);
    if (this.bytesHeld > this.maxBytes) this.remove(id);
  }

  /** Evicts the less recently used of two keys drawn at random, other than `keep`. */
  private evictOne(keep: string): void {
    const first = this.sample(keep);
    const second = this.sample(keep);
    const a = this.entries.get(first);
    const b = this.entries.get(second);
    if (a === undefined || b === undefined) return;
    this.remove(a.usedAt <= b.usedAt ? first : second);
  }

  private sample(keep: string): string {
    const count = this.slots.length;
    let index = Math.floor(this.random() * count);
    if (this.slots[index] === keep) index = (index + 1) % count;
    return this.slots[index] as string;
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.bytesHeld -= entry.bytes;
    // Swap with the last slot, so that removal is O(1).
    const last = this.slots.pop() as string;
    if (last !== id) {
      this.slots[entry.slot] = last;
      const moved = this.entries.get(last);
      if (moved !== undefined) moved.slot = entry.slot;
    }
  }
}
