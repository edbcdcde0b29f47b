/**
 * The route model and every request and response payload, in zod: the one source of
 * validation, TypeScript types and the OpenAPI document (shared/http/openapi.ts).
 */
import { z } from 'zod';

export const MAX_VERSIONS = 50;
export const MAX_RULES = 50;
export const MAX_WEIGHT = 10_000;
/** Revisions are stored zero-padded to 10 digits so that they sort as strings. */
export const MAX_REVISION = 9_999_999_999;
export const RevisionNumberSchema = z.int().min(1).max(MAX_REVISION);

export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must match ^[a-z0-9][a-z0-9-]{0,62}$');
export const VersionNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$');

const VersionStateSchema = z.enum(['active', 'draining', 'disabled']);
const WeightSchema = z.int().min(0).max(MAX_WEIGHT);
/** Shape only; the upstream policy (scheme, hosts) is checked by shared/domain/upstream-url.ts. */
const UpstreamUrlSchema = z.string().min(1).max(2048);

const VersionSchema = z
  .strictObject({
    url: UpstreamUrlSchema,
    weight: WeightSchema,
    state: VersionStateSchema,
  })
  .meta({ id: 'Version' });

const RuleSchema = z
  .strictObject({
    header: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name'),
    equals: z.string().max(1024),
    version: VersionNameSchema,
  })
  .meta({ id: 'Rule' });

const VersionsSchema = z
  .record(VersionNameSchema, VersionSchema)
  .refine((versions) => Object.keys(versions).length <= MAX_VERSIONS, {
    message: `at most ${MAX_VERSIONS} versions`,
  });
const RulesSchema = z.array(RuleSchema).max(MAX_RULES);

export const RouteSchema = z
  .strictObject({
    tenant: SlugSchema,
    service: SlugSchema,
    env: SlugSchema,
    versions: VersionsSchema,
    defaultVersion: VersionNameSchema.optional(),
    rules: RulesSchema,
    revision: z.int().min(1),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    updatedBy: z.string(),
  })
  .meta({ id: 'Route' });

/** Body of `PUT .../routes/{service}/{env}`: the whole route as the caller wants it. */
export const PutRouteBodySchema = z
  .strictObject({
    versions: VersionsSchema,
    defaultVersion: VersionNameSchema.optional(),
    rules: RulesSchema.default([]),
  })
  .meta({ id: 'PutRouteBody' });

export const PutVersionBodySchema = z
  .strictObject({
    url: UpstreamUrlSchema,
    weight: WeightSchema.default(0),
    state: VersionStateSchema.default('active'),
  })
  .meta({ id: 'PutVersionBody' });

export const PatchVersionBodySchema = z
  .strictObject({
    url: UpstreamUrlSchema.optional(),
    weight: WeightSchema.optional(),
    state: VersionStateSchema.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'at least one of url, weight, state' })
  .meta({ id: 'PatchVersionBody' });

export const RollbackBodySchema = z
  .strictObject({ revision: RevisionNumberSchema })
  .meta({ id: 'RollbackBody' });

const ChangeKindSchema = z.enum([
  'route.put',
  'route.delete',
  'version.put',
  'version.patch',
  'version.delete',
  'rollback',
]);

/** An immutable revision record: the route after the change, and who made it. */
export const RevisionSchema = z
  .strictObject({
    tenant: SlugSchema,
    service: SlugSchema,
    env: SlugSchema,
    revision: z.int().min(1),
    /** The change's place in the tenant's sequence (the change feed). */
    seq: z.int().min(1),
    kind: ChangeKindSchema,
    actor: z.string(),
    /** The id the server issued for the request that made the change. */
    requestId: z.string(),
    /** The caller's `x-request-id`, when it sent one. */
    correlationId: z.string().optional(),
    occurredAt: z.iso.datetime(),
    /** The route after the change; null when the change deleted it. */
    route: RouteSchema.nullable(),
  })
  .meta({ id: 'Revision' });

export type Version = z.infer<typeof VersionSchema>;
export type VersionState = z.infer<typeof VersionStateSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type Revision = z.infer<typeof RevisionSchema>;
export type ChangeKind = z.infer<typeof ChangeKindSchema>;
export type PutRouteBody = z.infer<typeof PutRouteBodySchema>;
export type PutVersionBody = z.infer<typeof PutVersionBodySchema>;
export type PatchVersionBody = z.infer<typeof PatchVersionBodySchema>;
