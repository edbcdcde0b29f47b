/**
 * The publisher: the table's stream (its revision inserts, see the event source mapping's
 * filter in infra/constructs/event-publisher.ts) to route events on the bus. Each record is
 * published by the record handler inside Powertools' batch processor, which reports the
 * records that failed, so the event source mapping retries from the first record that was
 * not published (shared/events/publisher.ts keeps order per route and batches PutEvents).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { StreamRecordPublisher } from '#shared/events/publisher';
import { metricNames } from '#shared/metric-names';
import { logger, metrics, tracer } from '#shared/observability';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

async function publishRouteEvents(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  const publisher = new StreamRecordPublisher();
  try {
    return await processPartialResponse(event, publisher.handleRecord, processor, { context });
  } finally {
    metrics.addMetric(metricNames.routeEventsPublished, MetricUnit.Count, publisher.published);
    metrics.addMetric(metricNames.routeEventRecordsFailed, MetricUnit.Count, publisher.failures.size);
    for (const [sequenceNumber, reason] of publisher.failures) {
      logger.warn('Route event not published; the stream record will be retried', { sequenceNumber, reason });
    }
  }
}

export const handler = middy(publishRouteEvents)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
