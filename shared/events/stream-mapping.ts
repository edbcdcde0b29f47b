/**
 * The publisher's event source mapping, defined once. The CDK stack
 * (infra/constructs/event-publisher.ts) and the local stack's stream poller
 * (local/stream-poller.ts) both read it, so the local stack retries, bisects, gives up and
 * dead-letters exactly as the deployed mapping does (API.md, "Local stack").
 *
 * Plain values only (seconds, strings, a filter pattern in Lambda's JSON syntax): this module
 * is imported by CDK code, by the local stack and by the publisher's tests alike.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { REVISION_SK_PREFIX, attr } from '../store/route-keys.ts';

/** A Lambda event filter pattern (the subset we use: exact values and `prefix`). */
type FilterPattern = { [field: string]: FilterPattern | readonly (string | { prefix: string })[] };

export interface StreamMappingSettings {
  /** Records per invocation, at most. */
  batchSize: number;
  /** Gather up to this long before invoking: fewer, fuller PutEvents calls. */
  maxBatchingWindowSeconds: number;
  /** Retries of a failing batch before it is given up; -1: until the record is too old. */
  retryAttempts: number;
  /** A record older than this is not sent to the function but given up; -1: never. */
  maxRecordAgeSeconds: number;
  /** A batch whose invocation fails (throws) is split in two and each half retried. */
  bisectBatchOnError: boolean;
  /** The function returns `batchItemFailures`: the mapping retries from the first one. */
  reportBatchItemFailures: boolean;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** One batch per shard at a time: records of a route (one partition) stay in order. */
  parallelizationFactor: number;
  /** Only records matching this pattern invoke the function (Lambda's FilterCriteria). */
  filter: FilterPattern;
}

/**
 * The settings of the publisher's mapping.
 *
 * - Retried until the record is too old, not a fixed number of times: Lambda retries a
 *   stream batch at once, so ten attempts would give up within seconds of an EventBridge
 *   outage.
 * - A record still failing after 12 h goes to the dead-letter queue, which receives only its
 *   shard and sequence numbers; the stream keeps it 12 h more, and the revision item keeps
 *   it for good (docs/events.md, "Recovering").
 */
export const publisherStreamMapping = {
  batchSize: 100,
  maxBatchingWindowSeconds: 1,
  retryAttempts: -1,
  maxRecordAgeSeconds: 12 * 60 * 60,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  startingPosition: 'TRIM_HORIZON',
  parallelizationFactor: 1,
  filter: {
    eventName: ['INSERT'],
    dynamodb: { Keys: { [attr.sk]: { S: [{ prefix: REVISION_SK_PREFIX }] } } },
  },
} as const satisfies StreamMappingSettings;

/** The mapping's on-failure destination: an SQS queue (encrypted in AWS). */
export const publisherDeadLetter = {
  retentionDays: 14,
  /** The queue's name in the local stack (CloudFormation names it in AWS). */
  localQueueName: 'traffic-manager-publisher-dlq',
} as const;

/** Why the mapping gave records up, as Lambda writes it in `requestContext.condition`. */
export type GiveUpCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/**
 * What Lambda sends to a stream mapping's on-failure destination: not the records, but
 * where they are in the stream (the AWS Lambda developer guide, "Retaining discarded
 * records"; Powertools' `DynamoDBStreamLambdaOnFailureDestinationModel`).
 */
export interface StreamFailureMessage {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: GiveUpCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Whether `value` (a record or part of it) matches `pattern`, as Lambda's filter evaluates it. */
export function matchesFilter(value: unknown, pattern: FilterPattern): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return Object.entries(pattern).every(([name, expected]) => {
    const actual = fields[name];
    if (!Array.isArray(expected)) return matchesFilter(actual, expected as FilterPattern);
    return expected.some((rule: string | { prefix: string }) =>
      typeof rule === 'string' ? actual === rule : typeof actual === 'string' && actual.startsWith(rule.prefix),
    );
  });
}

/** Whether the mapping delivers `record` to the publisher. */
export const passesPublisherFilter = (record: DynamoDBRecord): boolean =>
  matchesFilter(record, publisherStreamMapping.filter);
