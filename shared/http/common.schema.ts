/** Payloads shared by every endpoint: problem bodies, path parameters, pagination. */
import { z } from 'zod';
import { MAX_REVISION, SlugSchema, VersionNameSchema } from '../domain/route.schema.ts';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
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
export const RevisionParamsSchema = RouteParamsSchema.extend({
  revision: z.coerce.number().int().min(1).max(MAX_REVISION),
});

export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(2048).optional(),
});
export const ListRoutesQuerySchema = PageQuerySchema.extend({ service: SlugSchema.optional() });

export const HealthCheckSchema = z.object({
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
