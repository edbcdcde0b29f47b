/**
 * The route cache of the resolve path, one per execution environment (ARCHITECTURE.md,
 * "Resolve: the hot path"). It trades a little freshness for latency and availability:
 *
 * - **TTL.** A loaded route is served from memory for `ttlMs` (default 2 s); an absent route
 *   for `negativeTtlMs` (default 1 s), so a flood of requests for a missing route does not
 *   reach the table. Together with the eventually consistent read behind it, a change
 *   reaches resolve within about `ttlMs` plus DynamoDB's replication delay.
 * - **Single flight.** Concurrent misses for one key share one load.
 * - **Stale-if-error.** When a load fails (after the SDK's own retries), the last answer
 *   loaded for the key (a route, or its absence) is served if it is at most `maxStaleMs` old
 *   (default 5 min); otherwise the load's error is thrown.
 * - **Circuit breaker.** After `failureThreshold` consecutive failed loads (default 5, any
 *   key), the table is not called for `coolDownMs` (default 5 s): requests get the
 *   last-known-good answer, or a 503 with `Retry-After` if there is none. After the
 *   cool-down one load goes through as a probe (half-open): its success closes the breaker,
 *   its failure opens it again for another cool-down.
 * - **Bounded.** At most `maxEntries` keys (default 1000), the least recently used evicted
 *   first.
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
  /** How old a value may be when it is served because loading failed. @default 300000 */
  maxStaleMs?: number;
  /** Most keys held. @default 1000 */
  maxEntries?: number;
  /** Consecutive failed loads that open the breaker. @default 5 */
  failureThreshold?: number;
  /** How long an open breaker keeps loads away from the table. @default 5000 */
  coolDownMs?: number;
}

/** Where an answer came from: memory within its TTL, a load, or memory after a failure. */
export type CacheSource = 'cache' | 'load' | 'stale';

export interface CacheResult<V> {
  value: V | undefined;
  source: CacheSource;
  /** Age of the value in milliseconds (0 for a fresh load). */
  ageMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

interface Entry<V> {
  value: V | undefined;
  loadedAt: number;
}

export class RouteCache<K, V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<CacheResult<V>>>();
  private readonly load: (key: K) => Promise<V | undefined>;
  private readonly keyOf: (key: K) => string;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxStaleMs: number;
  private readonly maxEntries: number;
  private readonly failureThreshold: number;
  private readonly coolDownMs: number;
  private consecutiveFailures = 0;
  private openUntil = 0;
  private probing = false;

  constructor(options: RouteCacheOptions<K, V>) {
    this.load = options.load;
    this.keyOf = options.keyOf;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? 2000;
    this.negativeTtlMs = options.negativeTtlMs ?? 1000;
    this.maxStaleMs = options.maxStaleMs ?? 300_000;
    this.maxEntries = options.maxEntries ?? 1000;
    this.failureThreshold = options.failureThreshold ?? 5;
    this.coolDownMs = options.coolDownMs ?? 5000;
    if (this.maxEntries < 1) throw new RangeError('maxEntries must be at least 1');
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

  /** Forgets every value and closes the breaker. */
  clear(): void {
    this.entries.clear();
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
      if (now - entry.loadedAt < ttl) {
        this.touch(id, entry);
        return { value: entry.value, source: 'cache', ageMs: now - entry.loadedAt };
      }
    }
    const pending = this.inFlight.get(id);
    if (pending !== undefined) return pending;

    if (!this.mayCallStore(now)) {
      return this.staleOr(id, now, () => {
        const seconds = Math.max(1, Math.ceil((this.openUntil - now) / 1000));
        return new ServiceUnavailableError('The route store is unavailable; retry later.', seconds);
      });
    }
    const loading = this.loadAndStore(key, id).finally(() => {
      this.inFlight.delete(id);
    });
    this.inFlight.set(id, loading);
    return loading;
  }

  /** Whether a load may go to the store now; claims the probe when half-open. */
  private mayCallStore(now: number): boolean {
    if (this.consecutiveFailures < this.failureThreshold) return true;
    if (this.probing || now < this.openUntil) return false;
    this.probing = true;
    return true;
  }

  private async loadAndStore(key: K, id: string): Promise<CacheResult<V>> {
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
    this.touch(id, { value, loadedAt: this.now() });
    return { value, source: 'load', ageMs: 0 };
  }

  private recordFailure(now: number): void {
    this.consecutiveFailures += 1;
    if (this.probing || this.consecutiveFailures >= this.failureThreshold) {
      this.openUntil = now + this.coolDownMs;
    }
    this.probing = false;
  }

  private staleOr(id: string, now: number, failure: () => unknown): CacheResult<V> {
    const entry = this.entries.get(id);
    if (entry !== undefined && now - entry.loadedAt <= this.maxStaleMs) {
      return { value: entry.value, source: 'stale', ageMs: now - entry.loadedAt };
    }
    throw failure();
  }

  /** Stores `entry` as the most recently used, evicting the least recently used beyond the bound. */
  private touch(id: string, entry: Entry<V>): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
