/**
 * The resolve use case: the route from the per-environment cache (./route-cache.ts, over an
 * eventually consistent `GetItem`), then the pure resolution (../domain/resolve.ts), and the
 * `Cache-Status` (RFC 9211) and `Age` headers that say how fresh the answer is (API.md,
 * "Stale answers are marked"), on answers and refusals alike.
 *
 * Cache settings come from the environment, each optional (defaults in `resolveCacheEnv`):
 * `RESOLVE_CACHE_TTL_MS`, `RESOLVE_CACHE_NEGATIVE_TTL_MS`, `RESOLVE_CACHE_REFRESH_AHEAD_MS`,
 * `RESOLVE_CACHE_MAX_STALE_MS`, `RESOLVE_CACHE_MAX_BYTES`, `RESOLVE_BREAKER_FAILURES`,
 * `RESOLVE_BREAKER_COOL_DOWN_MS`, `RESOLVE_LOAD_DEADLINE_MS`.
 *
 * Logging: at most one line per request at the default level. A stale answer logs one
 * warning; a refusal is logged by the error mapper, with the staleness appended as keys.
 */
import { parseEnv, resolveCacheEnv } from '../config.ts';
import { resolve, type Resolution } from '../domain/resolve.ts';
import type { Route } from '../domain/route.schema.ts';
import { HttpError, RouteNotFoundError } from '../errors/http-errors.ts';
import { metricNames } from '../metric-names.ts';
import { logger, metrics } from '../observability.ts';
import { routePk } from '../store/route-keys.ts';
import { getRoute, type RouteKey } from '../store/route.store.ts';
import { RouteCache, type CacheResult } from './route-cache.ts';
import { approximateRouteBytes } from './route-size.ts';

const env = parseEnv(resolveCacheEnv);

/** The execution environment's route cache; exported for tests and health reporting. */
export const routeCache = new RouteCache<RouteKey, Route>({
  // Aborted at the load deadline: the SDK call stops, and the abort maps to a 503 like any
  // store failure (shared/store/dynamodb-errors.ts), so the cache serves its last good copy
  // or the caller gets 503 with Retry-After.
  load: (key) => getRoute(key, { abortSignal: AbortSignal.timeout(env.RESOLVE_LOAD_DEADLINE_MS) }),
  keyOf: routePk,
  ttlMs: env.RESOLVE_CACHE_TTL_MS,
  negativeTtlMs: env.RESOLVE_CACHE_NEGATIVE_TTL_MS,
  ...(env.RESOLVE_CACHE_REFRESH_AHEAD_MS === undefined ? {} : { refreshAheadMs: env.RESOLVE_CACHE_REFRESH_AHEAD_MS }),
  maxStaleMs: env.RESOLVE_CACHE_MAX_STALE_MS,
  maxBytes: env.RESOLVE_CACHE_MAX_BYTES,
  sizeOf: approximateRouteBytes,
  failureThreshold: env.RESOLVE_BREAKER_FAILURES,
  coolDownMs: env.RESOLVE_BREAKER_COOL_DOWN_MS,
  onBreakerOpen: () => metrics.addMetric(metricNames.resolveBreakerOpened, 'Count', 1),
});


interface ResolveRouteRequest {
  route: RouteKey;
  key?: string | undefined;
  version?: string | undefined;
  headers: Readonly<Record<string, string | undefined>>;
}

interface ResolveRouteResult {
  resolution: Resolution;
  /** `Cache-Status`, and `Age` when the answer came from memory. */
  headers: Record<string, string>;
}

/** The name this cache goes by in `Cache-Status` (RFC 9211 wants one per cache). */
const cacheName = 'traffic-manager';

/**
 * `Cache-Status` and `Age` for a cache result (RFC 9211, RFC 9111). A hit says how many whole
 * seconds of freshness are left (`ttl`); a load says whether nothing (`fwd=miss`) or an
 * expired copy (`fwd=stale`) was held and that the result was `stored`; a last-known-good
 * answer after a failure has a negative `ttl` and `detail=stale-if-error`.
 */
export function cacheHeaders(result: CacheResult<unknown>): Record<string, string> {
  const ttl = Math.floor(result.ttlMs / 1000);
  const age = String(Math.floor(result.ageMs / 1000));
  switch (result.source) {
    case 'cache':
      return { 'Cache-Status': `${cacheName}; hit; ttl=${ttl}`, Age: age };
    case 'load':
      return { 'Cache-Status': `${cacheName}; fwd=${result.hadExpired === true ? 'stale' : 'miss'}; stored` };
    case 'stale':
      return { 'Cache-Status': `${cacheName}; hit; ttl=${ttl}; detail=stale-if-error`, Age: age };
  }
}

/** Nothing held and nothing loaded: the store failed (or the breaker is open). */
const forwardFailed = { 'Cache-Status': `${cacheName}; fwd=miss; detail=store-unavailable` };

/** Adds `headers` to a refusal, so that 404 and 503 carry Cache-Status too. */
function withHeaders(error: unknown, headers: Record<string, string>): unknown {
  if (error instanceof HttpError) Object.assign(error.headers, headers);
  return error;
}

/**
 * Resolves a request against the cached route.
 * @throws NotFoundError when the route does not exist (or a pinned version cannot be used).
 * @throws ServiceUnavailableError when nothing is resolvable, or the store is down with no
 *   last-known-good route.
 */
export async function resolveRoute(request: ResolveRouteRequest): Promise<ResolveRouteResult> {
  let cached: CacheResult<Route>;
  try {
    cached = await routeCache.get(request.route);
  } catch (error) {
    throw withHeaders(error, forwardFailed);
  }
  metrics.addMetric(
    cached.source === 'cache'
      ? metricNames.routeCacheHits
      : cached.source === 'load'
        ? metricNames.routeCacheMisses
        : metricNames.staleResolveAnswers,
    'Count',
    1,
  );
  const headers = cacheHeaders(cached);
  if (cached.source === 'stale') {
    // Appended, not logged here: a refusal below is logged once by the error mapper with them.
    logger.appendKeys({ staleRouteAgeMs: cached.ageMs, routeStoreBreaker: routeCache.breakerState });
  }
  try {
    if (cached.value === undefined) throw new RouteNotFoundError();
    const resolution = resolve(cached.value, { key: request.key, version: request.version, headers: request.headers });
    if (cached.source === 'stale') logger.warn('serving a stale route: the route store failed');
    return { resolution, headers };
  } catch (error) {
    throw withHeaders(error, headers);
  }
}
