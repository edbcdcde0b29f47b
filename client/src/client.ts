/**
 * The data-plane client (API.md, "Client library for data planes"): holds a tenant's routes
 * in memory, keeps them current through a `StateFollower` (the change feed after a first
 * snapshot, or polling the snapshot with `If-None-Match`), and resolves with the very engine the resolve function runs
 * (shared/domain/resolve.ts), so that for the same route revision it answers exactly what
 * the server answers, with no network call per decision.
 *
 * Failures never take the state away: the last good state keeps answering while the loop
 * retries with backoff and jitter, and `staleness()` says how long ago the server last
 * confirmed it.
 */
import { resolve as resolveWithEngine, type Resolution } from '../../shared/domain/resolve.ts';
// The resolve endpoint's rules, as the server checks them.
import { MAX_RESOLVE_KEY_LENGTH, SLUG_PATTERN, VERSION_NAME_PATTERN } from '../../shared/domain/route-limits.ts';
import type { Route } from '../../shared/domain/route.schema.ts';
import { HttpError } from '../../shared/errors/http-errors.ts';
import { backoffDelay, defaultBackoff, jitteredInterval, type BackoffOptions } from './backoff.ts';
import { readCache, writeCache, type CachedState } from './disk-cache.ts';
import { ChangeFeedFollower } from './change-feed-follower.ts';
import { ClientClosedError, ResolveError, SnapshotFetchError } from './errors.ts';
import { systemScheduler, type ScheduledTimer, type Scheduler } from './scheduler.ts';
import { SnapshotPoller, type StateFollower } from './state-follower.ts';
import { diffStates, routeId, type RouteChange, type TenantState } from './tenant-state.ts';

/** What `on('change')` listeners receive: the routes that differ from the state held before. */
export interface ChangeEvent {
  tenant: string;
  /** The new state's snapshot ETag. */
  etag: string | undefined;
  /** The new state's change sequence, when the server sends one. */
  seq: number | undefined;
  /** At least one entry; the first load reports every route as created. */
  changes: RouteChange[];
}

interface ClientEvents {
  change: ChangeEvent;
  /**
   * A failed round (`SnapshotFetchError`), a change-feed answer the client could not apply
   * and replaced with the snapshot (`ChangeFeedError`), or a failed disk-cache read or write.
   */
  error: Error;
}

export type ClientEventName = keyof ClientEvents;
export type ClientListener<E extends ClientEventName> = (payload: ClientEvents[E]) => void;

/** Header values as a Node `IncomingMessage` gives them, or as a plain record. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface ResolveOptions {
  /** Caller key for stickiness (`?key=`): 1..256 characters (code points). */
  key?: string | undefined;
  /** Pin a version (`?version=`). */
  version?: string | undefined;
  /** The request's headers, any case; they feed the route's rules. */
  headers?: RequestHeaders | undefined;
}

export interface ClientOptions {
  /** The API's base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  baseUrl: string;
  tenant: string;
  /** A bearer token with the `resolve` (or `routes:read`) scope; called before every request. */
  getToken: () => string | Promise<string>;
  /**
   * How the state is kept current: `changes` loads the snapshot once, then applies the
   * change feed after its `seq` (falling back to the snapshot when the feed cannot
   * continue); `snapshot` polls the snapshot with `If-None-Match`. @default 'changes'
   */
  follow?: 'changes' | 'snapshot';
  /** Time between polls once the state is current (±10 % jitter). @default 2000, the server's resolve cache TTL */
  pollIntervalMs?: number;
  /** Backoff after failures (equal jitter, see ./backoff.ts). @default { initialMs: 500, maxMs: 30000 } */
  backoff?: Partial<BackoffOptions>;
  /** A request taking longer is aborted and counts as a failure. @default 5000 */
  requestTimeoutMs?: number;
  /** How long `start()` retries transient failures before it rejects. @default 30000 */
  startTimeoutMs?: number;
  /**
   * A file for the last good state: written after every change, and read when `start()`
   * cannot reach the service, so the client starts from it instead of failing.
   */
  cachePath?: string;
  /** How often an unchanged state's confirmation time is written to `cachePath`. @default 60000 */
  cacheRefreshMs?: number;
  /** Shorthand for `client.on('change', listener)`. */
  onChange?: ClientListener<'change'>;
  /** Shorthand for `client.on('error', listener)`. */
  onError?: ClientListener<'error'>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Clock and timers; tests pass a manual one. @default the system clock and setTimeout */
  scheduler?: Scheduler;
  /** A number in [0, 1): jitter, and the keyless weighted choice. @default Math.random */
  random?: () => number;
  /** Replaces the follower `follow` chooses (tests, or a follower of your own). */
  follower?: StateFollower;
}


/** A promise settled from outside, once. */
class Deferred {
  readonly promise: Promise<void>;
  #resolve: () => void = () => undefined;
  #reject: (error: Error) => void = () => undefined;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  resolve(): void {
    this.#resolve();
  }

  reject(error: Error): void {
    this.#reject(error);
  }
}

export class TrafficManagerClient {
  readonly #baseUrl: string;
  readonly #tenant: string;
  readonly #pollIntervalMs: number;
  readonly #backoff: BackoffOptions;
  readonly #startTimeoutMs: number;
  readonly #cachePath: string | undefined;
  readonly #cacheRefreshMs: number;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  readonly #follower: StateFollower;
  readonly #abort = new AbortController();
  readonly #listeners: { [E in ClientEventName]: Set<ClientListener<E>> } = { change: new Set(), error: new Set() };

  #state: TenantState | undefined;
  /** Wall-clock ms when the server last confirmed `#state` (the time the request was sent). */
  #confirmedAt: number | undefined;
  /** The `confirmedAt` last written to the cache file. */
  #persistedConfirmation: number | undefined;
  #failures = 0;
  #triedCache = false;
  #sleeping: ScheduledTimer | undefined;
  #loop: Promise<void> | undefined;
  #ready: Deferred | undefined;
  #closed = false;

  constructor(options: ClientOptions) {
    if (!SLUG_PATTERN.test(options.tenant)) throw new TypeError(`tenant must match ${SLUG_PATTERN.source}`);
    this.#baseUrl = options.baseUrl;
    this.#tenant = options.tenant;
    this.#pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.#backoff = { ...defaultBackoff, ...options.backoff };
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#cachePath = options.cachePath;
    this.#cacheRefreshMs = options.cacheRefreshMs ?? 60_000;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#random = options.random ?? Math.random;
    this.#follower = options.follower ?? this.#builtInFollower(options);
    if (options.onChange !== undefined) this.on('change', options.onChange);
    if (options.onError !== undefined) this.on('error', options.onError);
  }

  #builtInFollower(options: ClientOptions): StateFollower {
    const http = {
      baseUrl: options.baseUrl,
      tenant: options.tenant,
      getToken: options.getToken,
      fetch: options.fetch ?? globalThis.fetch,
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    };
    const follow = options.follow ?? 'changes';
    if (follow === 'snapshot') return new SnapshotPoller(http);
    if (follow === 'changes') return new ChangeFeedFollower({ ...http, onFallback: (error) => this.#emit('error', error) });
    throw new TypeError(`follow must be 'changes' or 'snapshot', not ${String(follow)}`);
  }

  /**
   * Loads the first state and starts following. Resolves once a snapshot is loaded (or,
   * with `cachePath`, read from disk because the service could not be reached). Rejects on
   * a failure that retrying cannot fix (400, 403, 404: wrong tenant or scope), or when
   * `startTimeoutMs` passes without a state; the client then stops. Calling it again
   * returns the same promise.
   */
  start(): Promise<void> {
    if (this.#ready === undefined) {
      this.#ready = new Deferred();
      if (this.#closed) this.#ready.reject(new ClientClosedError());
      else this.#loop = this.#follow(this.#ready);
    }
    return this.#ready.promise;
  }

  /**
   * Which upstream to use now, exactly as `GET /v1/tenants/{tenant}/resolve/{service}/{env}`
   * answers for the revision the client holds.
   *
   * @throws ResolveError 404 when the route does not exist or the pinned version is absent
   *   or disabled; 503 when nothing can take traffic (or no state was loaded yet); 400 for
   *   input the endpoint refuses (a service, env or version name out of pattern, a key
   *   outside 1..256 characters).
   */
  resolve(service: string, env: string, options: ResolveOptions = {}): Resolution {
    const { key, version } = options;
    if (!SLUG_PATTERN.test(service) || !SLUG_PATTERN.test(env)) {
      throw new ResolveError(400, `service and env must match ${SLUG_PATTERN.source}`);
    }
    if (key !== undefined && (key.length < 1 || codePointsOver(key, MAX_RESOLVE_KEY_LENGTH))) {
      throw new ResolveError(400, `key must have 1..${MAX_RESOLVE_KEY_LENGTH} characters`);
    }
    if (version !== undefined && !VERSION_NAME_PATTERN.test(version)) {
      throw new ResolveError(400, `version must match ${VERSION_NAME_PATTERN.source}`);
    }
    const state = this.#state;
    if (state === undefined) throw new ResolveError(503, 'The client has not loaded the routes yet.');
    const route = state.routes.get(routeId(service, env));
    // The server's words for a route it cannot see (RouteNotFoundError).
    if (route === undefined) throw new ResolveError(404, 'No such route.');
    try {
      return resolveWithEngine(route, { key, version, headers: singleValued(options.headers), random: this.#random });
    } catch (error) {
      if (error instanceof HttpError && (error.status === 404 || error.status === 503)) {
        throw new ResolveError(error.status, error.message, { cause: error });
      }
      throw error;
    }
  }

  /** The route the client holds for `service/env` (undefined if none). Never mutate it. */
  route(service: string, env: string): Route | undefined {
    return this.#state?.routes.get(routeId(service, env));
  }

  /** Every route the client holds. */
  routes(): Route[] {
    return [...(this.#state?.routes.values() ?? [])];
  }

  /**
   * Milliseconds since the server last confirmed the state the client answers from
   * (counted from when that request was sent); `Infinity` before any state is held. It
   * grows while the service cannot be reached.
   */
  staleness(): number {
    if (this.#confirmedAt === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.#scheduler.now() - this.#confirmedAt);
  }

  /** Adds a listener; returns a function that removes it. A listener that throws is reported as an `error`. */
  on<E extends ClientEventName>(event: E, listener: ClientListener<E>): () => void {
    this.#listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<E extends ClientEventName>(event: E, listener: ClientListener<E>): void {
    this.#listeners[event].delete(listener);
  }

  /** Stops following: aborts a request in flight, cancels the timer, waits for the loop to end. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort(new ClientClosedError());
    this.#sleeping?.cancel();
    this.#sleeping = undefined;
    this.#ready?.reject(new ClientClosedError());
    await this.#loop;
  }

  /** The loop: one round trip, then a wait (the poll interval, or a backoff), until closed. */
  async #follow(ready: Deferred): Promise<void> {
    const startDeadline = this.#scheduler.now() + this.#startTimeoutMs;
    while (!this.#closed) {
      let delayMs: number;
      try {
        await this.#refresh();
        this.#failures = 0;
        ready.resolve();
        delayMs = jitteredInterval(this.#pollIntervalMs, this.#random);
      } catch (error) {
        if (this.#closed) break;
        const failure = error instanceof Error ? error : new Error(String(error));
        this.#failures += 1;
        this.#emit('error', failure);
        if (this.#state === undefined) {
          if (failure instanceof SnapshotFetchError && failure.permanent) {
            ready.reject(failure);
            return;
          }
          await this.#adoptCache();
          if (this.#state !== undefined) ready.resolve();
          else if (this.#scheduler.now() >= startDeadline) {
            ready.reject(failure);
            return;
          }
        }
        delayMs = backoffDelay(this.#failures, this.#backoff, this.#random);
        if (failure instanceof SnapshotFetchError && failure.retryAfterMs !== undefined) {
          // The server asked for a pause: honour it, within the backoff's cap.
          delayMs = Math.max(delayMs, Math.min(failure.retryAfterMs, this.#backoff.maxMs));
        }
      }
      await this.#sleep(delayMs);
    }
  }

  /** One round trip through the follower; applies what it returns. Throws on failure. */
  async #refresh(): Promise<void> {
    const sentAt = this.#scheduler.now();
    const outcome = await this.#follower.follow(this.#state, this.#abort.signal);
    if (this.#closed) return;
    if (outcome.kind === 'unchanged' || outcome.confirmed !== false) this.#confirmedAt = sentAt;
    if (outcome.kind === 'unchanged') {
      await this.#persist(false);
      return;
    }
    const changes = diffStates(this.#state, outcome.state);
    this.#state = outcome.state;
    // Listeners hear of the change before the disk write, which only matters after a restart.
    if (changes.length > 0) {
      this.#emit('change', { tenant: this.#tenant, etag: outcome.state.etag, seq: outcome.state.seq, changes });
    }
    await this.#persist(true);
  }

  /** Once, before the first state: the disk cache, if there is one and it is readable. */
  async #adoptCache(): Promise<void> {
    if (this.#cachePath === undefined || this.#triedCache) return;
    this.#triedCache = true;
    let cached: CachedState | undefined;
    try {
      cached = await readCache(this.#cachePath, this.#baseUrl, this.#tenant);
    } catch (error) {
      this.#emit('error', error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (cached === undefined || this.#closed) return;
    this.#state = cached.state;
    this.#confirmedAt = cached.confirmedAt;
    this.#persistedConfirmation = cached.confirmedAt;
    const changes = diffStates(undefined, cached.state);
    if (changes.length > 0) {
      this.#emit('change', { tenant: this.#tenant, etag: cached.state.etag, seq: cached.state.seq, changes });
    }
  }

  /** Writes the state to `cachePath`: on a change, or when its confirmation is `cacheRefreshMs` old. */
  async #persist(changed: boolean): Promise<void> {
    const state = this.#state;
    const confirmedAt = this.#confirmedAt;
    if (this.#cachePath === undefined || state === undefined || confirmedAt === undefined) return;
    const recent =
      this.#persistedConfirmation !== undefined && confirmedAt - this.#persistedConfirmation < this.#cacheRefreshMs;
    if (!changed && recent) return;
    try {
      await writeCache(this.#cachePath, this.#baseUrl, { state, confirmedAt });
      this.#persistedConfirmation = confirmedAt;
    } catch (error) {
      // A full or read-only disk must not stop the client from following the service.
      this.#emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  #sleep(delayMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#scheduler.schedule(delayMs, () => {
        this.#sleeping = undefined;
        resolve();
      });
      this.#sleeping = {
        cancel: () => {
          timer.cancel();
          resolve();
        },
      };
    });
  }

  #emit<E extends ClientEventName>(event: E, payload: ClientEvents[E]): void {
    for (const listener of this.#listeners[event]) {
      try {
        listener(payload);
      } catch (error) {
        // A listener's bug must not stop the loop; report it once, never recursively.
        if (event !== 'error') this.#emit('error', error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

/**
 * Whether `text` has more than `limit` code points, counted as the endpoint's schema (zod)
 * counts a string's length: an astral character such as an emoji is one, not two UTF-16 units.
 */
function codePointsOver(text: string, limit: number): boolean {
  // A code point is one or two units: within `limit` units it cannot be over; only longer strings are counted.
  if (text.length <= limit) return false;
  let count = 0;
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    // A high surrogate followed by a low one is one code point (a lone surrogate counts as one).
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index += 1;
    }
    count += 1;
    if (count > limit) return true;
  }
  return false;
}

/** Repeated headers count by their last value, as API Gateway's `headers` does for the server. */
function singleValued(headers: RequestHeaders | undefined): Record<string, string | undefined> {
  const single: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    single[name] = typeof value === 'string' || value === undefined ? value : value.at(-1);
  }
  return single;
}

/** Creates a client; call `await client.start()` before resolving. */
export function createClient(options: ClientOptions): TrafficManagerClient {
  return new TrafficManagerClient(options);
}
