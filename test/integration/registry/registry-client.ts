/**
 * A small client for the route registry's wrapped handlers: each call builds a realistic
 * API Gateway event (test/support/api-gateway-event.ts) with a fresh Lambda context and a
 * local token, invokes the real handler module, and parses what came back.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handler as deleteRouteHandler } from '#functions/routes/delete-route';
import { handler as getRouteHandler } from '#functions/routes/get-route';
import { handler as listRoutesHandler } from '#functions/routes/list-routes';
import { handler as putRouteHandler } from '#functions/routes/put-route';
import { handler as deleteVersionHandler } from '#functions/versions/delete-version';
import { handler as patchVersionHandler } from '#functions/versions/patch-version';
import { handler as putVersionHandler } from '#functions/versions/put-version';
import { handler as getRevisionHandler } from '#functions/revisions/get-revision';
import { handler as listRevisionsHandler } from '#functions/revisions/list-revisions';
import { handler as rollbackRouteHandler } from '#functions/revisions/rollback-route';
import { handler as getSnapshotHandler } from '#functions/tenants/get-snapshot';
import { handler as listAuditHandler } from '#functions/tenants/list-audit';
import type { Revision, Route } from '#shared/domain/route.schema';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import { bearer } from '#test/support/auth-tokens';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export const ALL_SCOPES = 'routes:read routes:write resolve audit:read';

/** A tenant no other test uses (tests share one emulator). */
export function uniqueTenant(): string {
  return `reg-${randomUUID().slice(0, 12)}`;
}

export interface Response<B = unknown> {
  status: number;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** Parsed JSON body; undefined for an empty one. */
  body: B;
  raw: APIGatewayProxyResult;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  requestId: string;
  correlationId?: string;
  errors?: { path: string; message: string }[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface CallOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** `Authorization` header; default a token for the path's tenant with every scope. */
  authorization?: string;
  sub?: string;
  /**
   * The invocation's time budget (the context's remaining time). @default the fixture's
   * 10 s, the functions' timeout in AWS.
   */
  deadlineMs?: number;
}

function lowerCased(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
}

function remainingUntil(deadline: number): () => number {
  return () => Math.max(0, deadline - Date.now());
}

async function invoke<B>(
  handler: Handler,
  method: string,
  pathParameters: Record<string, string>,
  path: string,
  options: CallOptions,
): Promise<Response<B>> {
  const tenant = pathParameters.tenant ?? 'acme';
  const authorization =
    options.authorization ?? (await bearer({ tenant, scope: ALL_SCOPES, sub: options.sub ?? 'alice' }));
  const raw = await handler(
    apiGatewayEvent({
      method,
      path,
      pathParameters,
      headers: { Authorization: authorization, ...options.headers },
      ...(options.query === undefined ? {} : { query: options.query }),
      ...(options.body === undefined ? {} : { body: options.body }),
    }),
    lambdaContext(options.deadlineMs === undefined ? {} : { getRemainingTimeInMillis: remainingUntil(Date.now() + options.deadlineMs) }),
  );
  return {
    status: raw.statusCode,
    headers: lowerCased(raw.headers),
    body: (raw.body === '' || raw.body === undefined ? undefined : JSON.parse(raw.body)) as B,
    raw,
  };
}

/** The registry API of one tenant; `service`/`env` default to checkout/prod. */
export function registry(tenant: string) {
  const routeParams = (service: string, env: string) => ({ tenant, service, env });
  const routePath = (service: string, env: string) =>
    `/v1/tenants/${encodeURIComponent(tenant)}/routes/${encodeURIComponent(service)}/${encodeURIComponent(env)}`;
  return {
    putRoute: (body: unknown, options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Route>(putRouteHandler, 'PUT', routeParams(service, env), routePath(service, env), { ...options, body }),
    getRoute: (options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Route>(getRouteHandler, 'GET', routeParams(service, env), routePath(service, env), options),
    deleteRoute: (options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<undefined>(deleteRouteHandler, 'DELETE', routeParams(service, env), routePath(service, env), options),
    listRoutes: (options: CallOptions = {}) =>
      invoke<Page<Route>>(listRoutesHandler, 'GET', { tenant }, `/v1/tenants/${tenant}/routes`, options),
    putVersion: (version: string, body: unknown, options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Route>(
        putVersionHandler,
        'PUT',
        { ...routeParams(service, env), version },
        `${routePath(service, env)}/versions/${encodeURIComponent(version)}`,
        { ...options, body },
      ),
    patchVersion: (version: string, body: unknown, options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Route>(
        patchVersionHandler,
        'PATCH',
        { ...routeParams(service, env), version },
        `${routePath(service, env)}/versions/${encodeURIComponent(version)}`,
        { ...options, body },
      ),
    deleteVersion: (version: string, options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Route>(
        deleteVersionHandler,
        'DELETE',
        { ...routeParams(service, env), version },
        `${routePath(service, env)}/versions/${encodeURIComponent(version)}`,
        options,
      ),
    listRevisions: (options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Page<Revision>>(
        listRevisionsHandler,
        'GET',
        routeParams(service, env),
        `${routePath(service, env)}/revisions`,
        options,
      ),
    getRevision: (revision: string | number, options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Revision>(
        getRevisionHandler,
        'GET',
        { ...routeParams(service, env), revision: String(revision) },
        `${routePath(service, env)}/revisions/${encodeURIComponent(String(revision))}`,
        options,
      ),
    rollback: (body: unknown, options: CallOptions = {}, service = 'checkout', env = 'prod') =>
      invoke<Route>(
        rollbackRouteHandler,
        'POST',
        routeParams(service, env),
        `${routePath(service, env)}/rollback`,
        { ...options, body },
      ),
    snapshot: (options: CallOptions = {}) =>
      invoke<{ tenant: string; routes: Route[] }>(
        getSnapshotHandler,
        'GET',
        { tenant },
        `/v1/tenants/${tenant}/snapshot`,
        options,
      ),
    audit: (options: CallOptions = {}) =>
      invoke<Page<Revision>>(listAuditHandler, 'GET', { tenant }, `/v1/tenants/${tenant}/audit`, options),
  };
}

export type Registry = ReturnType<typeof registry>;

/** A version as a PUT body takes it. */
export function version(name: string, weight = 100, state: 'active' | 'draining' | 'disabled' = 'active') {
  return { url: `https://${name}.checkout.example.com`, weight, state };
}

/** A whole-route PUT body with versions v1 (90) and v2 (10), a canary rule and default v1. */
export function twoVersionBody() {
  return {
    versions: { v1: version('v1', 90), v2: version('v2', 10) },
    defaultVersion: 'v1',
    rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
  };
}

/** Every revision number of a route, newest first (one page of 100). */
export async function revisionNumbers(api: Registry, service = 'checkout', env = 'prod'): Promise<number[]> {
  const response = await api.listRevisions({ query: { limit: '100' } }, service, env);
  if (response.status === 404) return [];
  expect(response.status).toBe(200);
  return response.body.items.map((revision) => revision.revision);
}

/** Asserts a problem response (RFC 9457) and returns its body. */
export function expectProblem(response: Response<unknown>, status: number): Problem {
  expect({ status: response.status, contentType: response.headers['content-type'] }).toEqual({
    status,
    contentType: 'application/problem+json',
  });
  const problem = response.body as Problem;
  expect(problem).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  // x-request-id echoes the caller's id (the body's correlationId) or else the server's.
  expect(response.headers['x-request-id']).toBe(problem.correlationId ?? problem.requestId);
  if (status === 400) {
    expect(problem.errors).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
  }
  return problem;
}
