/**
 * The publisher: the table's stream (its revision inserts, see the event source mapping's
 * filter in infra/constructs/event-publisher.ts) to route events on the bus. Reports
 * partial batch failures through Powertools, so the event source mapping retries from the
 * first record that was not published (shared/events/publisher.ts keeps order per route).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { publishStreamRecords } from '#shared/events/publisher';
import { metricNames } from '#shared/metric-names';
import { logger, metrics, tracer } from '#shared/observability';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** A stream record whose event was not published; the event source mapping retries it. */
export class EventNotPublishedError extends Error {
  override readonly name = 'EventNotPublishedError';
}

async function publishRouteEvents(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  const outcome = await publishStreamRecords(event.Records);
  metrics.addMetric(metricNames.routeEventsPublished, MetricUnit.Count, outcome.published);
  metrics.addMetric(metricNames.routeEventRecordsFailed, MetricUnit.Count, outcome.failures.size);
  for (const [sequenceNumber, reason] of outcome.failures) {
    logger.warn('Route event not published; the stream record will be retried', { sequenceNumber, reason });
  }
  const recordHandler = (record: DynamoDBRecord): void => {
    const reason = outcome.failures.get(record.dynamodb?.SequenceNumber ?? '');
    if (reason !== undefined) throw new EventNotPublishedError(reason);
  };
  return processPartialResponse(event, recordHandler, processor, { context });
}

export const handler = middy(publishRouteEvents)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
