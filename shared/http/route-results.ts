/** The mapping between HTTP and the route use cases, shared by their handlers. */
import type { Principal } from '../auth/principal.ts';
import type { Route } from '../domain/route.schema.ts';
import type { HttpResult } from '../middleware/http-handler.ts';
import type { CommitResult, WriteContext } from '../store/commit-change.ts';
import type { RouteKey } from '../store/route-keys.ts';
import { preconditionsOf, routeEtag } from './preconditions.ts';

/** The write context of a request: route key from the path, actor from the token. */
export function writeContextOf(input: {
  params: RouteKey;
  headers: Readonly<Record<string, string | undefined>>;
  principal: Principal;
  requestId: string;
  correlationId: string | undefined;
  deadline: number;
}): WriteContext {
  const { tenant, service, env } = input.params;
  return {
    key: { tenant, service, env },
    actor: input.principal.sub,
    requestId: input.requestId,
    correlationId: input.correlationId,
    preconditions: preconditionsOf(input.headers),
    deadline: input.deadline,
  };
}

/** 200 (or `status`) with the route and its ETag. */
export function routeResult(route: Route, status = 200): HttpResult {
  return { status, body: route, headers: { ETag: routeEtag(route.revision) } };
}

/**
 * The answer to a write: 204 when it left no route, else the route, 201 when the write
 * created what the path names (`created`: the route for a route PUT, the version for a
 * version PUT; never for other writes).
 */
export function writeResult(result: CommitResult, created = false): HttpResult {
  if (result.route === undefined) return { status: 204 };
  return routeResult(result.route, result.committed && created ? 201 : 200);
}
