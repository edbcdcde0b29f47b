/**
 * The endpoint table: every HTTP endpoint of the service, once. The CDK stack builds API
 * Gateway resources, throttles and one function per endpoint from it; the local server
 * builds its routes and rate limits from it; the handler factory takes validation schemas
 * and the required scopes from it; the OpenAPI document is generated from it.
 */
import {
  ChangeListSchema,
  PatchVersionBodySchema,
  PutRouteBodySchema,
  PutVersionBodySchema,
  RevisionSchema,
  RollbackBodySchema,
  RouteSchema,
  VersionNameSchema,
} from '../domain/route.schema.ts';
import { resolveReasons, type Resolution } from '../domain/resolve.ts';
import { MAX_RESOLVE_KEY_LENGTH } from '../domain/route-limits.ts';
import {
  HealthSchema,
  ListRoutesQuerySchema,
  ChangesQuerySchema,
  PageQuerySchema,
  RevisionParamsSchema,
  RouteParamsSchema,
  TenantParamsSchema,
  VersionParamsSchema,
} from './common.schema.ts';
import * as z from '../zod.ts';

export type HttpMethod = 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
export type Scope = 'routes:read' | 'routes:write' | 'resolve' | 'audit:read';

/** Requests per second (steady) and burst, per method, as API Gateway takes them. */
export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** Throttle tiers: resolve is the hot path and gets more than writes. */
export const throttles = {
  stage: { rateLimit: 500, burstLimit: 1000 },
  resolve: { rateLimit: 300, burstLimit: 600 },
  read: { rateLimit: 100, burstLimit: 200 },
  write: { rateLimit: 20, burstLimit: 40 },
  health: { rateLimit: 20, burstLimit: 40 },
} as const satisfies Record<string, Throttle>;

/** What a function may touch: its grants in CDK and its environment are derived from this. */
interface ResourceAccess {
  table?: 'read' | 'readWrite';
  bus?: 'read' | 'publish';
}

export interface EndpointDefinition {
  /** operationId in OpenAPI, logical id of the function in CDK. */
  id: string;
  method: HttpMethod;
  /** API Gateway path template. */
  path: string;
  summary: string;
  /** Handler module, relative to the repository root, exporting `handler`. */
  entry: string;
  /** null: no token needed; otherwise the token must carry one of these scopes. */
  scopes: readonly Scope[] | null;
  throttle: Throttle;
  access: ResourceAccess;
  params?: z.ZodMiniType;
  query?: z.ZodMiniType;
  body?: z.ZodMiniType;
  /** Success responses by status; `null` for an empty body. */
  responses: Record<number, z.ZodMiniType | null>;
  /** Headers this endpoint adds to every response it answers itself (OpenAPI header objects). */
  responseHeaders?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

const RouteListSchema = z.withMeta(
  z.object({ items: z.array(RouteSchema), nextCursor: z.nullable(z.string()) }),
  { id: 'RouteList' },
);
const RevisionListSchema = z.withMeta(
  z.object({ items: z.array(RevisionSchema), nextCursor: z.nullable(z.string()) }),
  { id: 'RevisionList' },
);
const SnapshotSchema = z.withMeta(
  z.object({
    tenant: z.string(),
    seq: z.withMeta(z.int().check(z.minimum(0)), {
      description: 'The tenant sequence these routes are at least as new as; the ETag is derived from it.',
    }),
    routes: z.array(RouteSchema),
  }),
  { id: 'Snapshot' },
);
/** The answer of resolve (API.md, Resolve); `reason` names the step that decided. */
const ResolutionSchema = z.withMeta(
  z.object({
    version: VersionNameSchema,
    url: z.string(),
    revision: z.int().check(z.minimum(1)),
    reason: z.enum(resolveReasons),
  }),
  { id: 'Resolution' },
) satisfies z.ZodMiniType<Resolution>;
/** `?key=` for stickiness, `?version=` to pin; nothing else. */
const ResolveQuerySchema = z.strictObject({
  key: z.withMeta(z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_RESOLVE_KEY_LENGTH))), {
    description:
      'Caller key for stickiness: bucket = FNV-1a 32 of the UTF-8 bytes of `tenant/service/env:key`, mod 10000, ' +
      'mapped onto the cumulative weights of the active versions with weight > 0, sorted by name (see shared/domain/resolve.ts).',
  }),
  version: z.withMeta(z.optional(VersionNameSchema), {
    description: 'Pin a version: resolved if active or draining, 404 if disabled or absent.',
  }),
});

const routePath = '/v1/tenants/{tenant}/routes/{service}/{env}';
const versionPath = `${routePath}/versions/{version}`;

function define<const E extends EndpointDefinition>(endpoint: E): E {
  return endpoint;
}

export const endpoints = {
  getLive: define({
    id: 'getLive',
    method: 'GET',
    path: '/health/live',
    summary: 'The process is up; calls no dependency.',
    entry: 'functions/health/get-live.ts',
    scopes: null,
    throttle: throttles.health,
    access: {},
    responses: { 200: HealthSchema },
  }),
  getReady: define({
    id: 'getReady',
    method: 'GET',
    path: '/health/ready',
    summary: 'The table and the event bus answer; 503 names the failing dependency.',
    entry: 'functions/health/get-ready.ts',
    scopes: null,
    throttle: throttles.health,
    access: { table: 'read', bus: 'read' },
    responses: { 200: HealthSchema },
  }),
  getHealth: define({
    id: 'getHealth',
    method: 'GET',
    path: '/health',
    summary: 'Every dependency with its status and latency.',
    entry: 'functions/health/get-health.ts',
    scopes: null,
    throttle: throttles.health,
    access: { table: 'read', bus: 'read' },
    responses: { 200: HealthSchema },
  }),
  getOpenApi: define({
    id: 'getOpenApi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This OpenAPI 3.1 document.',
    entry: 'functions/openapi/get-openapi.ts',
    scopes: null,
    throttle: throttles.health,
    access: {},
    responses: { 200: z.record(z.string(), z.unknown()) },
  }),
  listRoutes: define({
    id: 'listRoutes',
    method: 'GET',
    path: '/v1/tenants/{tenant}/routes',
    summary: 'List the routes of a tenant, optionally of one service.',
    entry: 'functions/routes/list-routes.ts',
    scopes: ['routes:read'],
    throttle: throttles.read,
    access: { table: 'read' },
    params: TenantParamsSchema,
    query: ListRoutesQuerySchema,
    responses: { 200: RouteListSchema },
  }),
  getRoute: define({
    id: 'getRoute',
    method: 'GET',
    path: routePath,
    summary: 'Read one route.',
    entry: 'functions/routes/get-route.ts',
    scopes: ['routes:read'],
    throttle: throttles.read,
    access: { table: 'read' },
    params: RouteParamsSchema,
    responses: { 200: RouteSchema },
  }),
  putRoute: define({
    id: 'putRoute',
    method: 'PUT',
    path: routePath,
    summary: 'Create or replace a whole route.',
    entry: 'functions/routes/put-route.ts',
    scopes: ['routes:write'],
    throttle: throttles.write,
    access: { table: 'readWrite' },
    params: RouteParamsSchema,
    body: PutRouteBodySchema,
    responses: { 200: RouteSchema, 201: RouteSchema },
  }),
  deleteRoute: define({
    id: 'deleteRoute',
    method: 'DELETE',
    path: routePath,
    summary: 'Delete a route, keeping its history.',
    entry: 'functions/routes/delete-route.ts',
    scopes: ['routes:write'],
    throttle: throttles.write,
    access: { table: 'readWrite' },
    params: RouteParamsSchema,
    responses: { 204: null },
  }),
  putVersion: define({
    id: 'putVersion',
    method: 'PUT',
    path: versionPath,
    summary: 'Create or replace one version; creates the route if absent.',
    entry: 'functions/versions/put-version.ts',
    scopes: ['routes:write'],
    throttle: throttles.write,
    access: { table: 'readWrite' },
    params: VersionParamsSchema,
    body: PutVersionBodySchema,
    responses: { 200: RouteSchema, 201: RouteSchema },
  }),
  patchVersion: define({
    id: 'patchVersion',
    method: 'PATCH',
    path: versionPath,
    summary: 'Change the url, weight or state of one version.',
    entry: 'functions/versions/patch-version.ts',
    scopes: ['routes:write'],
    throttle: throttles.write,
    access: { table: 'readWrite' },
    params: VersionParamsSchema,
    body: PatchVersionBodySchema,
    responses: { 200: RouteSchema },
  }),
  deleteVersion: define({
    id: 'deleteVersion',
    method: 'DELETE',
    path: versionPath,
    summary: 'Remove one version.',
    entry: 'functions/versions/delete-version.ts',
    scopes: ['routes:write'],
    throttle: throttles.write,
    access: { table: 'readWrite' },
    params: VersionParamsSchema,
    responses: { 200: RouteSchema },
  }),
  listRevisions: define({
    id: 'listRevisions',
    method: 'GET',
    path: `${routePath}/revisions`,
    summary: 'History of a route, newest first.',
    entry: 'functions/revisions/list-revisions.ts',
    scopes: ['routes:read'],
    throttle: throttles.read,
    access: { table: 'read' },
    params: RouteParamsSchema,
    query: PageQuerySchema,
    responses: { 200: RevisionListSchema },
  }),
  getRevision: define({
    id: 'getRevision',
    method: 'GET',
    path: `${routePath}/revisions/{revision}`,
    summary: 'One past revision, as it was.',
    entry: 'functions/revisions/get-revision.ts',
    scopes: ['routes:read'],
    throttle: throttles.read,
    access: { table: 'read' },
    params: RevisionParamsSchema,
    responses: { 200: RevisionSchema },
  }),
  rollbackRoute: define({
    id: 'rollbackRoute',
    method: 'POST',
    path: `${routePath}/rollback`,
    summary: 'Commit a new revision equal in content to a past one.',
    entry: 'functions/revisions/rollback-route.ts',
    scopes: ['routes:write'],
    throttle: throttles.write,
    access: { table: 'readWrite' },
    params: RouteParamsSchema,
    body: RollbackBodySchema,
    responses: { 200: RouteSchema },
  }),
  resolveRoute: define({
    id: 'resolveRoute',
    method: 'GET',
    path: '/v1/tenants/{tenant}/resolve/{service}/{env}',
    summary: 'Which upstream to use now: pin, rules (request headers), sticky or random weights, default.',
    entry: 'functions/resolve/resolve-route.ts',
    scopes: ['resolve'],
    throttle: throttles.resolve,
    access: { table: 'read' },
    params: RouteParamsSchema,
    query: ResolveQuerySchema,
    responses: { 200: ResolutionSchema },
    responseHeaders: {
      'Cache-Status': {
        description:
          'RFC 9211: `traffic-manager; hit; ttl=<s>` (from memory, seconds of freshness left), `traffic-manager; fwd=miss; stored` ' +
          'or `fwd=stale; stored` (loaded; nothing or an expired copy was held), `traffic-manager; hit; ttl=-<s>; detail=stale-if-error` ' +
          '(the store failed: last-known-good served), `traffic-manager; fwd=miss; detail=store-unavailable` (nothing to serve).',
        schema: { type: 'string' },
      },
      Age: { description: 'Seconds since the route answered from memory was loaded (hits and stale answers).', schema: { type: 'integer', minimum: 0 } },
    },
  }),
  getSnapshot: define({
    id: 'getSnapshot',
    method: 'GET',
    path: '/v1/tenants/{tenant}/snapshot',
    summary: 'Every route of the tenant, for data-plane caches (ETag, 304).',
    entry: 'functions/tenants/get-snapshot.ts',
    scopes: ['resolve', 'routes:read'],
    throttle: throttles.resolve,
    access: { table: 'read' },
    params: TenantParamsSchema,
    responses: { 200: SnapshotSchema, 304: null },
  }),
  listChanges: define({
    id: 'listChanges',
    method: 'GET',
    path: '/v1/tenants/{tenant}/changes',
    summary: "The tenant's changes after a sequence number, in sequence order (the change feed).",
    entry: 'functions/tenants/list-changes.ts',
    scopes: ['resolve', 'routes:read'],
    throttle: throttles.resolve,
    access: { table: 'read' },
    params: TenantParamsSchema,
    query: ChangesQuerySchema,
    responses: { 200: ChangeListSchema },
  }),
  listAudit: define({
    id: 'listAudit',
    method: 'GET',
    path: '/v1/tenants/{tenant}/audit',
    summary: 'Audit trail of the tenant, newest first.',
    entry: 'functions/tenants/list-audit.ts',
    scopes: ['audit:read'],
    throttle: throttles.read,
    access: { table: 'read' },
    params: TenantParamsSchema,
    query: PageQuerySchema,
    responses: { 200: RevisionListSchema },
  }),
} as const;

export const endpointList: readonly EndpointDefinition[] = Object.values(endpoints);
