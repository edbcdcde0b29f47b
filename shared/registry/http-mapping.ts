/** The registry's mapping between HTTP and the use cases, shared by its handlers. */
import type { Principal } from '../auth/principal.ts';
import type { Route } from '../domain/route.schema.ts';
import type { HttpResult } from '../middleware/http-handler.ts';
import type { RouteKey } from '../store/route.store.ts';
import { preconditionsOf, routeEtag } from './preconditions.ts';
import type { WriteRequest, WriteResult } from './route-registry.ts';

/** The use-case request of a write: route key from the path, actor from the token. */
export function writeRequestOf(input: {
  params: RouteKey;
  headers: Readonly<Record<string, string | undefined>>;
  principal: Principal;
  requestId: string;
}): WriteRequest {
  const { tenant, service, env } = input.params;
  return {
    key: { tenant, service, env },
    actor: input.principal.sub,
    requestId: input.requestId,
    preconditions: preconditionsOf(input.headers),
  };
}

/** 200 (or `status`) with the route and its ETag. */
export function routeResult(route: Route, status = 200): HttpResult {
  return { status, body: route, headers: { ETag: routeEtag(route.revision) } };
}

/** The answer to a write that leaves a route: 201 when it created what the path names. */
export function writeResult(result: WriteResult): HttpResult {
  if (result.route === undefined) return { status: 204 };
  return routeResult(result.route, result.created ? 201 : 200);
}
