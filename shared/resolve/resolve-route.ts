/**
 * The resolve use case: the route from the per-environment cache (./route-cache.ts, over an
 * eventually consistent `GetItem`), then the pure resolution (../domain/resolve.ts).
 *
 * Cache settings come from the environment, each optional (defaults in `resolveCacheEnv`):
 * `RESOLVE_CACHE_TTL_MS`, `RESOLVE_CACHE_NEGATIVE_TTL_MS`, `RESOLVE_CACHE_MAX_STALE_MS`,
 * `RESOLVE_CACHE_MAX_ENTRIES`, `RESOLVE_BREAKER_FAILURES`, `RESOLVE_BREAKER_COOL_DOWN_MS`,
 * `RESOLVE_LOAD_DEADLINE_MS`.
 */
import { z } from 'zod';
import { parseEnv } from '../config.ts';
import { resolve, type Resolution } from '../domain/resolve.ts';
import type { Route } from '../domain/route.schema.ts';
import { RouteNotFoundError } from '../errors/http-errors.ts';
import { metricNames } from '../metric-names.ts';
import { logger, metrics } from '../observability.ts';
import { routePk } from '../store/route-keys.ts';
import { getRoute, type RouteKey } from '../store/route.store.ts';
import { RouteCache } from './route-cache.ts';

const milliseconds = z.coerce.number().int().min(0);

export const resolveCacheEnv = {
  RESOLVE_CACHE_TTL_MS: milliseconds.default(2000),
  RESOLVE_CACHE_NEGATIVE_TTL_MS: milliseconds.default(1000),
  RESOLVE_CACHE_MAX_STALE_MS: milliseconds.default(300_000),
  RESOLVE_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).default(1000),
  RESOLVE_BREAKER_FAILURES: z.coerce.number().int().min(1).default(5),
  RESOLVE_BREAKER_COOL_DOWN_MS: milliseconds.default(5000),
  /**
   * How long resolve waits for the table before it counts the load as failed and serves the
   * last-known-good route: well under the SDK's own timeouts and retries (3 × 3 s), so a
   * hanging table does not eat the function's timeout.
   */
  RESOLVE_LOAD_DEADLINE_MS: milliseconds.default(1500),
};

const env = parseEnv(resolveCacheEnv);

/** The execution environment's route cache; exported for tests and health reporting. */
export const routeCache = new RouteCache<RouteKey, Route>({
  load: (key) => withDeadline(getRoute(key), env.RESOLVE_LOAD_DEADLINE_MS),
  keyOf: routePk,
  ttlMs: env.RESOLVE_CACHE_TTL_MS,
  negativeTtlMs: env.RESOLVE_CACHE_NEGATIVE_TTL_MS,
  maxStaleMs: env.RESOLVE_CACHE_MAX_STALE_MS,
  maxEntries: env.RESOLVE_CACHE_MAX_ENTRIES,
  failureThreshold: env.RESOLVE_BREAKER_FAILURES,
  coolDownMs: env.RESOLVE_BREAKER_COOL_DOWN_MS,
});

/** The route load, or a `TimeoutError` once `ms` have passed (the load runs on regardless). */
function withDeadline<T>(load: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })), ms);
  });
  return Promise.race([load, deadline]).finally(() => clearTimeout(timer));
}

export interface ResolveRouteRequest {
  route: RouteKey;
  key?: string | undefined;
  version?: string | undefined;
  headers: Readonly<Record<string, string | undefined>>;
}

/**
 * Resolves a request against the cached route.
 * @throws NotFoundError when the route does not exist (or a pinned version cannot be used).
 * @throws ServiceUnavailableError when nothing is resolvable, or the store is down with no
 *   last-known-good route.
 */
export async function resolveRoute(request: ResolveRouteRequest): Promise<Resolution> {
  const cached = await routeCache.get(request.route);
  metrics.addMetric(
    cached.source === 'cache'
      ? metricNames.routeCacheHits
      : cached.source === 'load'
        ? metricNames.routeCacheMisses
        : metricNames.staleResolveAnswers,
    'Count',
    1,
  );
  if (cached.source === 'stale') {
    logger.warn('serving a stale route: the route store failed', { ageMs: cached.ageMs, breaker: routeCache.breakerState });
  }
  if (cached.value === undefined) throw new RouteNotFoundError();
  return resolve(cached.value, { key: request.key, version: request.version, headers: request.headers });
}
