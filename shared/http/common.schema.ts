/** Payloads shared by every endpoint: problem bodies, path parameters, pagination. */
import { z } from 'zod';
import { MAX_REVISION, SlugSchema, VersionNameSchema } from '../domain/route.schema.ts';
import { MAX_SEQ } from '../store/route-keys.ts';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    correlationId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

export const TenantParamsSchema = z.strictObject({ tenant: SlugSchema });
export const RouteParamsSchema = z.strictObject({
  tenant: SlugSchema,
  service: SlugSchema,
  env: SlugSchema,
});
export const VersionParamsSchema = RouteParamsSchema.extend({ version: VersionNameSchema });
/** A whole number written in decimal digits only (no `0x1`, `1e0`, ` 1`), as a path or query value. */
const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.int().min(min).max(max));

export const RevisionParamsSchema = RouteParamsSchema.extend({ revision: decimal(1, MAX_REVISION) });

export const PageQuerySchema = z.strictObject({
  limit: decimal(1, 100).default(50),
  cursor: z.string().min(1).max(2048).optional(),
});
/** The change feed: `after` a sequence number (default 0), at most `limit` (1..1000, default 100). */
export const ChangesQuerySchema = z.strictObject({
  after: decimal(0, MAX_SEQ).default(0),
  limit: decimal(1, 1000).default(100),
});
export const ListRoutesQuerySchema = PageQuerySchema.extend({ service: SlugSchema.optional() });

const HealthCheckSchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});
export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'unavailable']),
    checks: z.record(z.string(), HealthCheckSchema).optional(),
  })
  .meta({ id: 'Health' });
