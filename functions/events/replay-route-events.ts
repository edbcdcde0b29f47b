/**
 * The operator's replay: publishes a range of a tenant's history again, from the immutable
 * revisions, with the events' original `eventId`s (consumers dedupe by them, so a replay is
 * always safe). Invoked directly, not through the API:
 * `aws lambda invoke --function-name <ReplayFunctionName> --payload '{"tenant":"acme","from":1}' out.json`.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { SlugSchema } from '#shared/domain/route.schema';
import * as z from '#shared/zod';
import { replayChanges, type ReplayReport } from '#shared/events/replay';
import { logger, tracer } from '#shared/observability';

/** What an operator sends: the tenant, and the first and (optionally) last sequence number. */
export const ReplayRequestSchema = z
  .strictObject({ tenant: SlugSchema, from: z.int().check(z.minimum(1)), to: z.optional(z.int().check(z.minimum(1))) })
  .check(z.refine((request) => request.to === undefined || request.to >= request.from, 'to must not be before from'));

async function replayRouteEvents(request: unknown): Promise<ReplayReport> {
  const range = ReplayRequestSchema.parse(request);
  const report = await replayChanges(range);
  logger.info('replayed route events', { ...range, published: report.published, failed: report.failed.length, through: report.through });
  return report;
}

export const handler = middy(replayRouteEvents)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
