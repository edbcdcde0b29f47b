/**
 * Route changes and the stream records DynamoDB Streams would carry for them, built from the
 * write path's own items (`commitItems`), in the Lambda event format. For unit tests; the
 * integration tests get real records from the emulator's stream.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import type { Route } from '#shared/domain/route.schema';
import { StreamRecordPublisher, type PublishOptions } from '#shared/events/publisher';
import { commitItems } from '#shared/store/commit-change';
import type { RouteKey } from '#shared/store/route.store';

/** One committed change, as the fixtures describe it. */
export interface Change {
  key: RouteKey;
  /** The revision before: 0 when the route never existed. */
  expectedRevision: number;
  next: Route | null;
  previous: Route | null;
  kind: 'route.put' | 'route.delete';
  actor: string;
  requestId: string;
  occurredAt: string;
  /** The tenant's sequence number of the change. */
  seq: number;
}

/** The items the write path stores for `change`. */
export function changeItems(change: Change): ReturnType<typeof commitItems> {
  return commitItems({
    record: {
      ...change.key,
      revision: change.expectedRevision + 1,
      seq: change.seq,
      kind: change.kind,
      actor: change.actor,
      requestId: change.requestId,
      occurredAt: change.occurredAt,
      route: change.next,
    },
    previous: change.previous,
  });
}

export const key = { tenant: 'acme', service: 'checkout', env: 'prod' } as const;

export function routeAt(revision: number, overrides: Partial<Route> = {}): Route {
  return {
    ...key,
    versions: { blue: { url: 'https://blue.example.com', weight: 100, state: 'active' } },
    defaultVersion: 'blue',
    rules: [],
    revision,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: `2026-01-01T00:00:${String(revision % 60).padStart(2, '0')}.000Z`,
    updatedBy: 'user-1',
    ...overrides,
  };
}

/** The change that commits `revision`: created (1), deleted (`deleted`), else updated. */
export function changeTo(revision: number, options: { deleted?: boolean; routeKey?: Partial<RouteKey> } = {}): Change {
  const routeKey: RouteKey = { ...key, ...options.routeKey };
  const previous = revision === 1 ? null : routeAt(revision - 1, routeKey);
  const next = options.deleted === true ? null : routeAt(revision, routeKey);
  return {
    key: routeKey,
    expectedRevision: revision - 1,
    next,
    previous,
    kind: next === null ? 'route.delete' : 'route.put',
    actor: 'user-1',
    requestId: `req-${revision}`,
    occurredAt: `2026-01-01T00:00:${String(revision % 60).padStart(2, '0')}.000Z`,
    seq: revision,
  };
}

let sequence = 1000;

const image = (item: Record<string, unknown>): Record<string, AttributeValue> =>
  marshall(item, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>;

/** A stream record as Lambda delivers it. */
export function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  newItem: Record<string, unknown> | undefined,
  oldItem?: Record<string, unknown>,
): DynamoDBRecord {
  const item = newItem ?? oldItem ?? {};
  sequence += 1;
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/routes/stream/2026-01-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1767225600,
      Keys: image({ PK: item.PK, SK: item.SK }),
      ...(newItem === undefined ? {} : { NewImage: image(newItem) }),
      ...(oldItem === undefined ? {} : { OldImage: image(oldItem) }),
      SequenceNumber: String(sequence).padStart(21, '0'),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** The insert of the revision item of `change`. */
export function revisionInsert(change: Change): DynamoDBRecord {
  return streamRecord('INSERT', changeItems(change).revisionItem);
}

/** The write of the route item of `change` (an insert for a new route, else a modify). */
export function routeItemWrite(change: Change): DynamoDBRecord {
  const { routeItem } = changeItems(change);
  return change.expectedRevision === 0 ? streamRecord('INSERT', routeItem) : streamRecord('MODIFY', routeItem, routeItem);
}

/**
 * Runs stream records through the publisher's record handler in Powertools' batch
 * processor, as the Lambda handler does, and returns what it published and what failed.
 * What failed is what Lambda is told (the batch response's item failures, by sequence
 * number), checked against what the publisher recorded, with the publisher's reasons.
 */
export async function publishStreamRecords(
  records: DynamoDBRecord[],
  options: PublishOptions = {},
): Promise<{ published: number; failures: Map<string, string> }> {
  const publisher = new StreamRecordPublisher(options);
  const response = await processPartialResponse({ Records: records }, publisher.handleRecord, new BatchProcessor(EventType.DynamoDBStreams), {
    throwOnFullBatchFailure: false,
  });
  const reported = response.batchItemFailures.map((failure) => failure.itemIdentifier);
  expect(new Set(reported)).toEqual(new Set(publisher.failures.keys()));
  return { published: publisher.published, failures: new Map(reported.map((id) => [id, publisher.failures.get(id) ?? ''])) };
}
