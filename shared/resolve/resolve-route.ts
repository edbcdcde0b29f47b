/**
 * The resolve use case: the route from the per-environment cache (./route-cache.ts, over an
 * eventually consistent `GetItem`), then the pure resolution (../domain/resolve.ts).
 *
 * Cache settings come from the environment, each optional (defaults in `resolveCacheEnv`):
 * `RESOLVE_CACHE_TTL_MS`, `RESOLVE_CACHE_NEGATIVE_TTL_MS`, `RESOLVE_CACHE_MAX_STALE_MS`,
 * `RESOLVE_CACHE_MAX_ENTRIES`, `RESOLVE_BREAKER_FAILURES`, `RESOLVE_BREAKER_COOL_DOWN_MS`.
 */
import { z } from 'zod';
import { parseEnv } from '../config.ts';
import { resolve, type Resolution } from '../domain/resolve.ts';
import type { Route } from '../domain/route.schema.ts';
import { RouteNotFoundError } from '../errors/http-errors.ts';
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
};

const env = parseEnv(resolveCacheEnv);

/** The execution environment's route cache; exported for tests and health reporting. */
export const routeCache = new RouteCache<RouteKey, Route>({
  load: (key) => getRoute(key),
  keyOf: routePk,
  ttlMs: env.RESOLVE_CACHE_TTL_MS,
  negativeTtlMs: env.RESOLVE_CACHE_NEGATIVE_TTL_MS,
  maxStaleMs: env.RESOLVE_CACHE_MAX_STALE_MS,
  maxEntries: env.RESOLVE_CACHE_MAX_ENTRIES,
  failureThreshold: env.RESOLVE_BREAKER_FAILURES,
  coolDownMs: env.RESOLVE_BREAKER_COOL_DOWN_MS,
});

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
  metrics.addMetric(`RouteCache${cached.source === 'cache' ? 'Hit' : cached.source === 'load' ? 'Miss' : 'Stale'}`, 'Count', 1);
  if (cached.source === 'stale') {
    logger.warn('serving a stale route: the route store failed', { ageMs: cached.ageMs, breaker: routeCache.breakerState });
  }
  if (cached.value === undefined) throw new RouteNotFoundError();
  return resolve(cached.value, { key: request.key, version: request.version, headers: request.headers });
}
