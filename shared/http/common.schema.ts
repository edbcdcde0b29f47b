/** Payloads shared by every endpoint: problem bodies, path parameters, pagination. */
import * as z from '../zod.ts';
import { MAX_REVISION, SlugSchema, VersionNameSchema } from '../domain/route.schema.ts';
import { MAX_SEQ } from '../store/route-keys.ts';

export const ProblemSchema = z.withMeta(
  z.object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.optional(z.string()),
    requestId: z.optional(z.string()),
    correlationId: z.optional(z.string()),
    errors: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  }),
  { id: 'Problem' },
);

export const TenantParamsSchema = z.strictObject({ tenant: SlugSchema });
export const RouteParamsSchema = z.strictObject({
  tenant: SlugSchema,
  service: SlugSchema,
  env: SlugSchema,
});
export const VersionParamsSchema = z.extend(RouteParamsSchema, { version: VersionNameSchema });
/** A whole number written in decimal digits only (no `0x1`, `1e0`, ` 1`), as a path or query value. */
const decimal = (min: number, max: number) =>
  z.pipe(
    z.pipe(z.string().check(z.regex(/^\d{1,16}$/, 'must be a whole number in decimal digits')), z.transform(Number)),
    z.int().check(z.minimum(min), z.maximum(max)),
  );

export const RevisionParamsSchema = z.extend(RouteParamsSchema, { revision: decimal(1, MAX_REVISION) });

export const PageQuerySchema = z.strictObject({
  limit: z._default(decimal(1, 100), 50),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});
/** The change feed: `after` a sequence number (default 0), at most `limit` (1..1000, default 100). */
export const ChangesQuerySchema = z.strictObject({
  after: z._default(decimal(0, MAX_SEQ), 0),
  limit: z._default(decimal(1, 1000), 100),
});
export const ListRoutesQuerySchema = z.extend(PageQuerySchema, { service: z.optional(SlugSchema) });

const HealthCheckSchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.optional(z.string()),
});
export const HealthSchema = z.withMeta(
  z.object({
    status: z.enum(['ok', 'degraded', 'unavailable']),
    checks: z.optional(z.record(z.string(), HealthCheckSchema)),
  }),
  { id: 'Health' },
);
