/**
 * The route model and every request and response payload, in zod: the one source of
 * validation, TypeScript types and the OpenAPI document (shared/http/openapi.ts).
 */
import * as z from '../zod.ts';
import { MAX_WEIGHT, SLUG_PATTERN, VERSION_NAME_PATTERN } from './route-limits.ts';

export const MAX_VERSIONS = 50;
export const MAX_RULES = 50;
/** Revisions are stored zero-padded to 10 digits so that they sort as strings. */
export const MAX_REVISION = 9_999_999_999;
export const RevisionNumberSchema = z.int().check(z.minimum(1), z.maximum(MAX_REVISION));

export const SlugSchema = z.string().check(z.regex(SLUG_PATTERN, `must match ${SLUG_PATTERN.source}`));
export const VersionNameSchema = z.string().check(z.regex(VERSION_NAME_PATTERN, `must match ${VERSION_NAME_PATTERN.source}`));

const VersionStateSchema = z.enum(['active', 'draining', 'disabled']);
const WeightSchema = z.int().check(z.minimum(0), z.maximum(MAX_WEIGHT));
/** Shape only; the upstream policy (scheme, hosts) is checked by shared/domain/upstream-url.ts. */
const UpstreamUrlSchema = z.string().check(z.minLength(1), z.maxLength(2048));

const VersionSchema = z.withMeta(
  z.strictObject({
    url: UpstreamUrlSchema,
    weight: WeightSchema,
    state: VersionStateSchema,
  }),
  { id: 'Version' },
);

const RuleSchema = z.withMeta(
  z.strictObject({
    header: z.string().check(z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name')),
    equals: z.string().check(z.maxLength(1024)),
    version: VersionNameSchema,
  }),
  { id: 'Rule' },
);

const VersionsSchema = z.record(VersionNameSchema, VersionSchema).check(
  z.refine((versions) => Object.keys(versions).length <= MAX_VERSIONS, {
    message: `at most ${MAX_VERSIONS} versions`,
  }),
);
const RulesSchema = z.array(RuleSchema).check(z.maxLength(MAX_RULES));

export const RouteSchema = z.withMeta(
  z.strictObject({
    tenant: SlugSchema,
    service: SlugSchema,
    env: SlugSchema,
    versions: VersionsSchema,
    defaultVersion: z.optional(VersionNameSchema),
    rules: RulesSchema,
    revision: z.int().check(z.minimum(1)),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    updatedBy: z.string(),
  }),
  { id: 'Route' },
);

/** Body of `PUT .../routes/{service}/{env}`: the whole route as the caller wants it. */
export const PutRouteBodySchema = z.withMeta(
  z.strictObject({
    versions: VersionsSchema,
    defaultVersion: z.optional(VersionNameSchema),
    rules: z._default(RulesSchema, []),
  }),
  { id: 'PutRouteBody' },
);

export const PutVersionBodySchema = z.withMeta(
  z.strictObject({
    url: UpstreamUrlSchema,
    weight: z._default(WeightSchema, 0),
    state: z._default(VersionStateSchema, 'active'),
  }),
  { id: 'PutVersionBody' },
);

export const PatchVersionBodySchema = z.withMeta(
  z
    .strictObject({
      url: z.optional(UpstreamUrlSchema),
      weight: z.optional(WeightSchema),
      state: z.optional(VersionStateSchema),
    })
    .check(z.refine((body) => Object.keys(body).length > 0, { message: 'at least one of url, weight, state' })),
  { id: 'PatchVersionBody' },
);

export const RollbackBodySchema = z.withMeta(z.strictObject({ revision: RevisionNumberSchema }), { id: 'RollbackBody' });

const ChangeKindSchema = z.enum([
  'route.put',
  'route.delete',
  'version.put',
  'version.patch',
  'version.delete',
  'rollback',
]);

/** An immutable revision record: the route after the change, and who made it. */
export const RevisionSchema = z.withMeta(
  z.strictObject({
    tenant: SlugSchema,
    service: SlugSchema,
    env: SlugSchema,
    revision: z.int().check(z.minimum(1)),
    /** The change's place in the tenant's sequence (the change feed). */
    seq: z.int().check(z.minimum(1)),
    kind: ChangeKindSchema,
    actor: z.string(),
    /** The id the server issued for the request that made the change. */
    requestId: z.string(),
    /** The caller's `x-request-id`, when it sent one. */
    correlationId: z.optional(z.string()),
    occurredAt: z.iso.datetime(),
    /** The route after the change; null when the change deleted it. */
    route: z.nullable(RouteSchema),
  }),
  { id: 'Revision' },
);

/** One entry of the change feed (`GET /v1/tenants/{tenant}/changes`). */
export const ChangeSchema = z.withMeta(
  z.object({
    seq: z.int().check(z.minimum(1)),
    service: z.string(),
    env: z.string(),
    revision: z.int().check(z.minimum(1)),
    kind: z.enum(['created', 'updated', 'deleted']),
    route: z.withMeta(z.nullable(RouteSchema), { description: 'The route after the change; null when deleted.' }),
    occurredAt: z.iso.datetime(),
  }),
  { id: 'Change' },
);
/** A page of the change feed: changes in `seq` order, and the tenant's latest `seq`. */
export const ChangeListSchema = z.withMeta(
  z.object({
    items: z.array(ChangeSchema),
    latest: z.withMeta(z.int().check(z.minimum(0)), { description: "The tenant's latest sequence; 0 when it has no change." }),
  }),
  { id: 'ChangeList' },
);

export type Version = z.infer<typeof VersionSchema>;
export type VersionState = z.infer<typeof VersionStateSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type Revision = z.infer<typeof RevisionSchema>;
export type ChangeKind = z.infer<typeof ChangeKindSchema>;
export type FeedChange = z.infer<typeof ChangeSchema>;
export type ChangePage = z.infer<typeof ChangeListSchema>;
export type PutRouteBody = z.infer<typeof PutRouteBodySchema>;
export type PutVersionBody = z.infer<typeof PutVersionBodySchema>;
export type PatchVersionBody = z.infer<typeof PatchVersionBodySchema>;
