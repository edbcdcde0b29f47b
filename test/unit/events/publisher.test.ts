import '#test/unit/events/unit-env';
import {
  blockedReason,
  chunkEntries,
  entrySize,
  publishEvents,
  putEventsEntry,
  putEventsLimits,
  routeEventOf,
  splitResults,
  type PendingEvent,
} from '#shared/events/publisher';
import type { PutEventsCommandInput, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { eventBridgeClient } from '#shared/clients/eventbridge';
import { RouteEventDetailSchema, routeEventId } from '#shared/events/route-event.schema';
import { parseRevisionItem } from '#shared/store/revision-item';
import { passesPublisherFilter } from '#shared/events/stream-mapping';
import { changeItems, changeTo, key, publishStreamRecords, revisionInsert, routeItemWrite, streamRecord } from '#test/unit/events/stream-fixtures';

const eventOf = (revision: number, options: { deleted?: boolean } = {}) =>
  routeEventOf(parseRevisionItem(changeItems(changeTo(revision, options)).revisionItem));

describe('routeEventOf', () => {
  it('builds the detail of an update from the revision item, valid against the schema', () => {
    const event = eventOf(4);
    expect(event.detailType).toBe('Route Updated');
    expect(event.detail).toEqual({
      eventId: routeEventId({ ...key, revision: 4 }),
      ...key,
      revision: 4,
      seq: 4,
      actor: 'user-1',
      requestId: 'req-4',
      correlationId: null,
      occurredAt: '2026-01-01T00:00:04.000Z',
      route: expect.objectContaining({ revision: 4 }),
      previous: expect.objectContaining({ revision: 3 }),
    });
    expect(RouteEventDetailSchema.parse(event.detail)).toEqual(event.detail);
  });

  it('has no previous route for a creation and no route for a deletion', () => {
    expect(eventOf(1)).toMatchObject({ detailType: 'Route Created', detail: { previous: null, route: { revision: 1 } } });
    expect(eventOf(5, { deleted: true })).toMatchObject({
      detailType: 'Route Deleted',
      detail: { route: null, previous: { revision: 4 } },
    });
  });
});

describe('putEventsEntry and entrySize', () => {
  it('puts the event on the bus with the source, detail-type, JSON detail and the time of the change', () => {
    const event = eventOf(2);
    const entry = putEventsEntry(event, 'my-bus');
    expect(entry).toEqual({
      EventBusName: 'my-bus',
      Source: 'traffic-manager',
      DetailType: 'Route Updated',
      Detail: JSON.stringify(event.detail),
      Time: new Date('2026-01-01T00:00:02.000Z'),
    });
  });

  it('counts UTF-8 bytes of source, detail-type, detail and resources, and 14 for the time', () => {
    expect(entrySize({ Source: 'ab', DetailType: 'é', Detail: '{}', Resources: ['xyz'], Time: new Date() })).toBe(
      14 + 2 + 2 + 2 + 3,
    );
    expect(entrySize({ Source: 'ab' })).toBe(2);
  });
});

describe('chunkEntries', () => {
  it('makes calls of at most 10 entries, in order', () => {
    const items = Array.from({ length: 23 }, (_, i) => i);
    const chunks = chunkEntries(items, () => 100);
    expect(chunks.map((chunk) => chunk.length)).toEqual([10, 10, 3]);
    expect(chunks.flat()).toEqual(items);
  });

  it('starts a new call before the 256 KB limit would be passed', () => {
    const size = 100 * 1024;
    const chunks = chunkEntries([1, 2, 3, 4, 5], () => size);
    expect(chunks.map((chunk) => chunk.length)).toEqual([2, 2, 1]);
    for (const chunk of chunks) expect(chunk.length * size).toBeLessThanOrEqual(putEventsLimits.maxBytes);
  });

  it('fills a call exactly up to the limit', () => {
    expect(chunkEntries([1, 2], () => putEventsLimits.maxBytes / 2)).toEqual([[1, 2]]);
  });

  it('refuses an entry that no call can carry', () => {
    expect(() => chunkEntries([1], () => putEventsLimits.maxBytes + 1)).toThrow(RangeError);
  });

  it('makes no call for nothing', () => {
    expect(chunkEntries([], () => 1)).toEqual([]);
  });
});

describe('splitResults', () => {
  it('pairs entries with results by position: an error code or a missing result is a failure', () => {
    const { succeeded, failed } = splitResults(
      ['a', 'b', 'c', 'd'],
      [{ EventId: '1' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }, { EventId: '3' }],
    );
    expect(succeeded).toEqual(['a', 'c']);
    expect(failed).toEqual([
      { pending: 'b', result: { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' } },
      { pending: 'd', result: undefined },
    ]);
  });
});

describe('passesPublisherFilter, the one test of a revision insert', () => {
  it('keeps inserts of revision items only', () => {
    const change = changeTo(1);
    const { revisionItem, routeItem } = changeItems(change);
    expect(passesPublisherFilter(revisionInsert(change))).toBe(true);
    expect(passesPublisherFilter(routeItemWrite(change))).toBe(false);
    expect(passesPublisherFilter(streamRecord('MODIFY', revisionItem, revisionItem))).toBe(false);
    expect(passesPublisherFilter(streamRecord('REMOVE', undefined, revisionItem))).toBe(false);
    expect(passesPublisherFilter(streamRecord('INSERT', routeItem))).toBe(false);
    const idempotencyRecord = { PK: 'IDEMPOTENCY#putRoute#abc123', SK: 'IDEMPOTENCY', status: 'COMPLETED', expiresAt: 1 };
    expect(passesPublisherFilter(streamRecord('INSERT', idempotencyRecord))).toBe(false);
  });
});

describe('publishStreamRecords without a call to make', () => {
  it('ignores route items, idempotency records, modifies and removals: nothing fails, nothing is sent', async () => {
    const change = changeTo(3);
    const { revisionItem } = changeItems(change);
    const outcome = await publishStreamRecords([
      routeItemWrite(change),
      streamRecord('INSERT', { PK: 'IDEMPOTENCY#putRoute#k', SK: 'IDEMPOTENCY', status: 'INPROGRESS' }),
      streamRecord('MODIFY', revisionItem, revisionItem),
      streamRecord('REMOVE', undefined, revisionItem),
    ]);
    expect(outcome).toEqual({ published: 0, failures: new Map() });
  });

  it('fails a malformed revision item and every later record of its route, and only those', async () => {
    const bad = changeItems(changeTo(3)).revisionItem;
    const malformed = streamRecord('INSERT', { ...bad, actor: 42 });
    const later = revisionInsert(changeTo(4));
    const outcome = await publishStreamRecords([malformed, routeItemWrite(changeTo(3)), later]);
    expect([...outcome.failures.keys()]).toEqual([malformed.dynamodb?.SequenceNumber, later.dynamodb?.SequenceNumber]);
    expect(outcome.failures.get(malformed.dynamodb?.SequenceNumber ?? '')).toMatch(/^not an event: /);
    expect(outcome.failures.get(later.dynamodb?.SequenceNumber ?? '')).toBe(blockedReason);
    expect(outcome.published).toBe(0);
  });
});

describe('publishEvents without a call to make', () => {
  const pending = (revision: number, detail: Record<string, unknown> = {}): PendingEvent => {
    const event = eventOf(revision);
    return { routeKey: 'A', sequenceNumber: String(revision), event: { ...event, detail: { ...event.detail, ...detail } } };
  };

  it('validates before sending: an invalid event fails, and so do the later revisions of its route', async () => {
    const report = await publishEvents([pending(3, { actor: undefined }), pending(4), pending(5)]);
    expect(report.calls).toBe(0);
    expect(report.published).toEqual([]);
    expect(report.failed.map(({ item, reason }) => [item.sequenceNumber, reason.startsWith('invalid event: ')])).toEqual([
      ['3', true],
      ['4', false],
      ['5', false],
    ]);
    expect(report.failed[1]?.reason).toBe(blockedReason);
  });

  it('orders a route by revision: the lowest invalid revision blocks the rest even when listed last', async () => {
    const report = await publishEvents([pending(5), pending(4), pending(3, { requestId: 7 })]);
    expect(report.failed.map(({ item }) => item.sequenceNumber)).toEqual(['3', '4', '5']);
  });

  it('fails an event over the PutEvents size limit without sending it', async () => {
    const huge = 'x'.repeat(putEventsLimits.maxBytes);
    const report = await publishEvents([pending(3, { actor: huge })]);
    expect(report.calls).toBe(0);
    expect(report.failed[0]?.reason).toMatch(/over the 262144-byte PutEvents limit/);
  });
});

describe('publishEvents when the publishing itself breaks', () => {
  const pending = (routeKey: string, revision: number): PendingEvent => ({ routeKey, sequenceNumber: `${routeKey}${revision}`, event: eventOf(revision) });

  it('settles every event, in flight or queued, when waiting between retries fails', async () => {
    // The bus answers every entry failed, at the SDK's first step (no network): the sender
    // then waits to retry, and the wait itself throws.
    const allFailed = () => async (args: { input: object }) => {
      const entries = (args.input as PutEventsCommandInput).Entries ?? [];
      const output: PutEventsCommandOutput = {
        $metadata: {},
        FailedEntryCount: entries.length,
        Entries: entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'unit' })),
      };
      return { output, response: {} };
    };
    eventBridgeClient.middlewareStack.add(allFailed, { step: 'initialize', name: 'unitAllEntriesFailed' });
    try {
      const report = await publishEvents([pending('A', 3), pending('A', 4), pending('B', 3)], {
        sleep: () => Promise.reject(new Error('the clock is gone')),
      });
      expect(report.published).toEqual([]);
      expect(Object.fromEntries(report.failed.map(({ item, reason }) => [item.sequenceNumber, reason]))).toEqual({
        A3: 'publishing failed: the clock is gone',
        A4: blockedReason,
        B3: 'publishing failed: the clock is gone',
      });
    } finally {
      eventBridgeClient.middlewareStack.remove('unitAllEntriesFailed');
    }
  });
});

