/**
 * The publisher against the emulator: real stream records of a table of the test's own,
 * real PutEvents to the shared bus, the events read from a queue that a rule for the test's
 * tenant feeds. PutEvents partial failures are injected in the SDK middleware stack.
 */
import { jest } from '@jest/globals';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { handler } from '#functions/events/publish-route-events';
import { invocationContext } from '#local/lambda-runtime';
import { startStreamPoller } from '#local/stream-poller';
import { eventBridgeClient } from '#shared/clients/eventbridge';
import { blockedReason } from '#shared/events/publisher';
import { passesPublisherFilter } from '#shared/events/stream-mapping';
import { routeEventId, type RouteEvent } from '#shared/events/route-event.schema';
import { testClientConfig, testDynamoDb, testEventBridge, testSqs, testStreams, uniqueName } from '#test/support/aws';
import { changeItems, changeTo, publishStreamRecords } from '#test/unit/events/stream-fixtures';
import {
  commit,
  createEventTable,
  failPutEventsEntries,
  isEventOf,
  putItem,
  streamRecords,
  subscribeTenant,
  type EventTable,
  type TenantQueue,
} from './event-harness.ts';
import { receiveRouteEvents } from './queue-events.ts';

jest.setTimeout(120_000);

const dynamodb = testDynamoDb();
const streams = testStreams();
const events = testEventBridge();
const sqs = testSqs();

let tenant: string;
let table: EventTable;
let queue: TenantQueue;

beforeEach(async () => {
  tenant = uniqueName('ev').toLowerCase();
  table = await createEventTable(dynamodb);
  queue = await subscribeTenant(events, sqs, tenant);
});

afterEach(async () => {
  await queue.remove();
  await table.remove();
});

afterAll(() => {
  for (const client of [dynamodb, streams, events, sqs]) client.destroy();
});

const routeKey = (service: string) => ({ tenant, service, env: 'prod' });
const changeOf = (service: string, revision: number, deleted = false) =>
  changeTo(revision, { routeKey: routeKey(service), deleted });

/** Commits revisions 1..n of each service, interleaved: a1 b1 a2 b2 ... */
async function commitInterleaved(services: string[], revisions: number): Promise<void> {
  for (let revision = 1; revision <= revisions; revision += 1) {
    for (const service of services) await commit(dynamodb, table.tableName, changeOf(service, revision));
  }
}

const streamEvent = async (): Promise<DynamoDBStreamEvent> => ({ Records: await streamRecords(streams, table.streamArn) });
const invoke = async (event: DynamoDBStreamEvent) => handler(event, invocationContext({ functionName: 'publish-route-events' }));
const received = (count: number, timeoutMs = 15_000): Promise<RouteEvent[]> =>
  receiveRouteEvents(sqs, queue.queueUrl, count, timeoutMs);
const summary = (list: RouteEvent[]): string[] =>
  list.map((event) => `${event.detail.service}#${event.detail.revision} ${event['detail-type']}`);
/** Per service, the revisions in the order they arrived. */
function arrivalOrder(list: RouteEvent[]): Record<string, number[]> {
  const order: Record<string, number[]> = {};
  for (const event of list) (order[event.detail.service] ??= []).push(event.detail.revision);
  return order;
}

describe('publishing the stream of committed revisions', () => {
  it('publishes each revision insert once, with its detail, and nothing for route items, idempotency records or no-op writes', async () => {
    await commit(dynamodb, table.tableName, changeOf('checkout', 1));
    await commit(dynamodb, table.tableName, changeOf('checkout', 2));
    // A no-op rewrite of the route item and an idempotency record: stream records, no events.
    await putItem(dynamodb, table.tableName, changeItems(changeOf('checkout', 2)).routeItem);
    await putItem(dynamodb, table.tableName, { PK: `IDEMPOTENCY#putRoute#${uniqueName('key')}`, SK: 'IDEMPOTENCY', status: 'COMPLETED', expiresAt: 1 });
    await commit(dynamodb, table.tableName, changeOf('checkout', 3, true));
    const event = await streamEvent();
    expect(event.Records.length).toBeGreaterThan(3);

    const response = await invoke(event);

    expect(response).toEqual({ batchItemFailures: [] });
    const delivered = await received(3);
    expect(summary(delivered)).toEqual(['checkout#1 Route Created', 'checkout#2 Route Updated', 'checkout#3 Route Deleted']);
    const [, updated] = delivered;
    const change = changeOf('checkout', 2);
    expect(updated?.detail).toEqual({
      eventId: routeEventId({ ...routeKey('checkout'), revision: 2 }),
      ...routeKey('checkout'),
      revision: 2,
      seq: change.seq,
      actor: change.actor,
      requestId: change.requestId,
      correlationId: null,
      occurredAt: change.occurredAt,
      route: change.next,
      previous: change.previous,
    });
    expect(updated?.time).toBe('2026-01-01T00:00:02Z');
    expect(await received(1, 2_000)).toEqual([]);
  });

  it('keeps revision order per route across calls of at most 10 entries, one event of a route per call', async () => {
    const services = Array.from({ length: 12 }, (_, index) => `svc-${index}`);
    await commitInterleaved(services, 3);
    const fault = failPutEventsEntries(eventBridgeClient, () => false);
    try {
      expect(await invoke(await streamEvent())).toEqual({ batchItemFailures: [] });
    } finally {
      fault.remove();
    }

    for (const call of fault.calls) {
      expect(call.length).toBeLessThanOrEqual(10);
      const routes = call.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { service: string }).service);
      expect(new Set(routes).size).toBe(routes.length);
    }
    // 36 events of 12 routes: three waves of 12, each in a call of 10 and one of 2.
    expect(fault.calls.map((call) => call.length)).toEqual([10, 2, 10, 2, 10, 2]);
    const delivered = await received(36);
    expect(delivered).toHaveLength(36);
    expect(arrivalOrder(delivered)).toEqual(Object.fromEntries(services.map((service) => [service, [1, 2, 3]])));
  });
});

describe('partial PutEvents failures', () => {
  it('retries only the failed entries, and every event arrives exactly once', async () => {
    await commitInterleaved(['a', 'b', 'c'], 1);
    const fault = failPutEventsEntries(eventBridgeClient, (entry) => isEventOf(entry, 'b', 1), 2);
    let outcome;
    try {
      outcome = await publishStreamRecords((await streamEvent()).Records, { sleep: async () => undefined });
    } finally {
      fault.remove();
    }

    expect(outcome).toEqual({ published: 3, failures: new Map() });
    // The first call carries all three; each retry carries only the entry that failed.
    const callSummary = fault.calls.map((call) => call.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { service: string }).service));
    expect(callSummary).toEqual([['a', 'b', 'c'], ['b'], ['b']]);
    const delivered = await received(3);
    expect(summary(delivered).sort()).toEqual(['a#1 Route Created', 'b#1 Route Created', 'c#1 Route Created']);
    expect(await received(1, 2_000)).toEqual([]);
  });

  it('reports what still fails after the bounded retries, and holds back the later revisions of that route only', async () => {
    await commitInterleaved(['a', 'b'], 3);
    const event = await streamEvent();
    const fault = failPutEventsEntries(eventBridgeClient, (entry) => isEventOf(entry, 'a', 2));
    let response;
    try {
      response = await invoke(event);
    } finally {
      fault.remove();
    }

    const a2 = event.Records.find((record) => passesPublisherFilter(record) && record.dynamodb?.Keys?.SK?.S === 'REV#0000000002' && record.dynamodb.Keys.PK?.S?.endsWith('#R#a#prod'));
    const a3 = event.Records.find((record) => passesPublisherFilter(record) && record.dynamodb?.Keys?.SK?.S === 'REV#0000000003' && record.dynamodb.Keys.PK?.S?.endsWith('#R#a#prod'));
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: a2?.dynamodb?.SequenceNumber }, { itemIdentifier: a3?.dynamodb?.SequenceNumber }],
    });
    // Four attempts at a#2, and a#3 never sent.
    expect(fault.failed).toBe(4);
    expect(fault.calls.flat().filter((entry) => isEventOf(entry, 'a', 3))).toEqual([]);
    const delivered = await received(4);
    expect(arrivalOrder(delivered)).toEqual({ a: [1], b: [1, 2, 3] });
  });

  it('fails the invocation when no record of the batch could be published, so the mapping bisects and retries', async () => {
    await commit(dynamodb, table.tableName, changeOf('a', 1));
    const event = { Records: (await streamEvent()).Records.filter(passesPublisherFilter) };
    const fault = failPutEventsEntries(eventBridgeClient, () => true);
    try {
      await expect(invoke(event)).rejects.toThrow(/All records failed processing/);
    } finally {
      fault.remove();
    }
    expect(await received(1, 2_000)).toEqual([]);
  });

  it('reports a record that cannot become an event, and the later records of its route, as failures', async () => {
    await commit(dynamodb, table.tableName, changeOf('a', 1));
    const malformed = { ...changeItems(changeOf('a', 2)).revisionItem, occurredAt: 'yesterday' };
    await putItem(dynamodb, table.tableName, malformed);
    await commit(dynamodb, table.tableName, changeOf('a', 3));
    const records = (await streamEvent()).Records;
    const outcome = await publishStreamRecords(records);
    const reasons = [...outcome.failures.values()];
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(/^not an event: /);
    expect(reasons[1]).toBe(blockedReason);
    expect(summary(await received(1))).toEqual(['a#1 Route Created']);
  });
});

describe('the local event source mapping (stream poller) with the publisher', () => {
  it('delivers again from the first failed record: nothing is lost, order per route holds, repeats share an eventId', async () => {
    await commitInterleaved(['a', 'b'], 3);
    // a#2 fails on every attempt of the first invocation (4), then goes through.
    const fault = failPutEventsEntries(eventBridgeClient, (entry) => isEventOf(entry, 'a', 2), 4);
    const invocations: number[] = [];
    const poller = startStreamPoller({
      ...testClientConfig(),
      streamArn: table.streamArn,
      handler: async (event, context) => {
        invocations.push(event.Records.length);
        return handler(event, context);
      },
      retryDelayMs: 10,
      pollIntervalMs: 50,
    });
    let delivered: RouteEvent[];
    try {
      delivered = await received(6);
      await poller.settled();
      delivered.push(...(await received(10, 2_000)));
    } finally {
      await poller.stop();
      fault.remove();
    }

    expect(fault.failed).toBe(4);
    // The first batch has all six revision inserts; the retry starts at a#2, so a#1 is not repeated.
    expect(invocations[0]).toBe(6);
    expect(invocations.length).toBe(2);
    const firstSeen = (list: RouteEvent[]) => arrivalOrder(list.filter((e, i) => list.findIndex((o) => o.detail.eventId === e.detail.eventId) === i));
    expect(firstSeen(delivered)).toEqual({ a: [1, 2, 3], b: [1, 2, 3] });
    expect(delivered.filter((event) => event.detail.service === 'a').map((event) => event.detail.revision)).toEqual([1, 2, 3]);
    // b's events after a#2 were redelivered with the batch (at least once): each delivery
    // run is in order, and a repeat is the same event (same eventId, same detail).
    const b = delivered.filter((event) => event.detail.service === 'b');
    const runs: number[][] = [];
    for (const event of b) {
      const last = runs.at(-1);
      if (last !== undefined && (last.at(-1) ?? 0) < event.detail.revision) last.push(event.detail.revision);
      else runs.push([event.detail.revision]);
    }
    for (const run of runs) expect(run).toEqual(Array.from({ length: run.length }, (_, index) => (run[0] ?? 0) + index));
    for (const event of b) {
      expect(event.detail.eventId).toBe(routeEventId({ ...routeKey('b'), revision: event.detail.revision }));
      expect(event).toEqual(expect.objectContaining({ detail: b.find((o) => o.detail.eventId === event.detail.eventId)?.detail }));
    }
  });
});
