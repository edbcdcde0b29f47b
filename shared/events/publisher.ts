/**
 * The outbox publisher (ARCHITECTURE.md, "Events: the table is the outbox"): turns the
 * table's stream records into route events and puts them on the bus.
 *
 * - Only INSERTs of revision items count. Route items, idempotency records, no-op writes
 *   (the emulator streams those too) and removals are ignored.
 * - Order per route: a route's events go out in revision order, one `PutEvents` call after
 *   another (a route never has two events in one call, whose entries EventBridge may
 *   deliver in any order). Once an event of a route fails, the route's later events are not
 *   sent: they fail too, so that a retry starts again from the first one.
 * - Each event is validated against its schema before it is sent; calls carry up to 10
 *   entries and at most 256 KB; `FailedEntryCount` is checked and only the failed entries
 *   are retried (bounded, with backoff). What still fails is reported, never dropped.
 */
import { PutEventsCommand, type PutEventsRequestEntry, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { eventBridgeClient, eventBusName } from '../clients/eventbridge.ts';
import { REVISION_SK_PREFIX, attr } from '../store/route-keys.ts';
import { isRevisionItem, parseRevisionItem, type StoredRevision } from '../store/revision-item.ts';
import {
  MAX_EVENT_ENTRY_BYTES,
  RouteEventDetailSchema,
  detailTypeOf,
  eventSource,
  routeEventId,
  type RouteEventMessage,
} from './route-event.schema.ts';

/** EventBridge's limits on one `PutEvents` call. */
export const putEventsLimits = { maxEntries: 10, maxBytes: MAX_EVENT_ENTRY_BYTES } as const;

export interface RetryPolicy {
  /** Attempts per entry, the first included. */
  maxAttempts: number;
  /** Backoff before retry n (1-based) is a random time up to min(cap, base * 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
}

const defaultRetryPolicy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

/** The event of one revision item. */
export function routeEventOf(stored: StoredRevision): RouteEventMessage {
  const { revision, previous } = stored;
  const detail = {
    eventId: routeEventId(revision),
    tenant: revision.tenant,
    service: revision.service,
    env: revision.env,
    revision: revision.revision,
    seq: revision.seq,
    actor: revision.actor,
    requestId: revision.requestId,
    correlationId: revision.correlationId ?? null,
    occurredAt: revision.occurredAt,
    route: revision.route,
    previous,
  };
  return { detailType: detailTypeOf(detail), detail };
}

/** The `PutEvents` entry of an event; `Time` is the time of the change. */
export function putEventsEntry(event: RouteEventMessage, busName: string = eventBusName): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: eventSource,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    Time: new Date(event.detail.occurredAt),
  };
}

/** An entry's size as EventBridge counts it against the 256 KB limit. */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (value: string | undefined): number => (value === undefined ? 0 : Buffer.byteLength(value, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

/** Splits items into calls of at most `maxEntries` entries and `maxBytes` bytes, keeping order. */
export function chunkEntries<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  limits: { maxEntries: number; maxBytes: number } = putEventsLimits,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > limits.maxBytes) throw new RangeError(`An entry of ${size} bytes exceeds the ${limits.maxBytes}-byte limit`);
    if (current.length === limits.maxEntries || bytes + size > limits.maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** An event waiting to be published, with the stream record it came from. */
export interface PendingEvent {
  /** Groups the events whose order matters: the route's partition key. */
  routeKey: string;
  /** The stream record's sequence number. */
  sequenceNumber: string;
  event: RouteEventMessage;
}

interface FailedEvent<T> {
  item: T;
  reason: string;
}

interface PublishReport<T extends PendingEvent> {
  published: T[];
  failed: FailedEvent<T>[];
  /** `PutEvents` calls made, retries included. */
  calls: number;
}

export interface PublishOptions {
  retry?: RetryPolicy;
  busName?: string;
  /** Waits between retries; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Why an event was not sent: an earlier revision of its route was not published. */
export const blockedReason = 'not sent: an earlier revision of this route was not published';

/**
 * Publishes events in revision order per route (see the module comment). The input's order
 * within a route is kept after sorting by revision; routes are independent of each other.
 */
export async function publishEvents<T extends PendingEvent>(
  items: readonly T[],
  options: PublishOptions = {},
): Promise<PublishReport<T>> {
  const retry = options.retry ?? defaultRetryPolicy;
  const sleep = options.sleep ?? defaultSleep;
  const busName = options.busName ?? eventBusName;
  const report: PublishReport<T> = { published: [], failed: [], calls: 0 };

  // One queue per route, in revision order.
  const queues = new Map<string, T[]>();
  for (const item of items) {
    const queue = queues.get(item.routeKey) ?? [];
    queue.push(item);
    queues.set(item.routeKey, queue);
  }
  for (const queue of queues.values()) queue.sort((a, b) => a.event.detail.revision - b.event.detail.revision);

  const block = (routeKey: string): void => {
    const rest = queues.get(routeKey) ?? [];
    for (const item of rest) report.failed.push({ item, reason: blockedReason });
    queues.delete(routeKey);
  };

  // Waves: the head of each route's queue, so a route has at most one event in flight.
  while (queues.size > 0) {
    const wave: { item: T; entry: PutEventsRequestEntry; size: number }[] = [];
    for (const [routeKey, queue] of queues) {
      const item = queue.shift();
      if (queue.length === 0) queues.delete(routeKey);
      if (item === undefined) continue;
      const checked = RouteEventDetailSchema.safeParse(item.event.detail);
      if (!checked.success) {
        report.failed.push({ item, reason: `invalid event: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
        block(routeKey);
        continue;
      }
      const entry = putEventsEntry(item.event, busName);
      const size = entrySize(entry);
      if (size > putEventsLimits.maxBytes) {
        report.failed.push({ item, reason: `the event is ${size} bytes, over the ${putEventsLimits.maxBytes}-byte PutEvents limit` });
        block(routeKey);
        continue;
      }
      wave.push({ item, entry, size });
    }
    const chunks = chunkEntries(wave, (pending) => pending.size);
    const outcomes = await Promise.all(chunks.map((chunk) => putWithRetry(chunk, retry, sleep, report)));
    for (const failures of outcomes) {
      for (const { item, reason } of failures) {
        report.failed.push({ item, reason });
        block(item.routeKey);
      }
    }
  }
  return report;
}

/** Sends one call's entries; retries only the failed ones. Returns what still failed. */
async function putWithRetry<T extends PendingEvent>(
  chunk: readonly { item: T; entry: PutEventsRequestEntry }[],
  retry: RetryPolicy,
  sleep: (ms: number) => Promise<void>,
  report: PublishReport<T>,
): Promise<FailedEvent<T>[]> {
  let pending = [...chunk];
  let failures: FailedEvent<T>[] = [];
  for (let attempt = 1; attempt <= retry.maxAttempts && pending.length > 0; attempt += 1) {
    if (attempt > 1) {
      const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 2));
      await sleep(Math.random() * cap);
    }
    report.calls += 1;
    let results: (PutEventsResultEntry | undefined)[];
    try {
      const output = await eventBridgeClient.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      results = output.Entries ?? [];
      if ((output.FailedEntryCount ?? 0) === 0 && results.length === pending.length) {
        for (const p of pending) report.published.push(p.item);
        return [];
      }
    } catch (error) {
      // The whole call failed (after the SDK's own retries): every entry is retried.
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      failures = pending.map((p) => ({ item: p.item, reason }));
      continue;
    }
    const { succeeded, failed } = splitResults(pending, results);
    for (const p of succeeded) report.published.push(p.item);
    failures = failed.map(({ pending: p, result }) => ({
      item: p.item,
      reason: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? 'no result entry for this event'}`,
    }));
    pending = failed.map(({ pending: p }) => p);
  }
  return failures;
}

/**
 * Pairs a call's entries with its result entries (same order, as PutEvents answers): an
 * entry succeeded when its result has an `EventId` and no `ErrorCode`.
 */
export function splitResults<P>(
  entries: readonly P[],
  results: readonly (PutEventsResultEntry | undefined)[],
): { succeeded: P[]; failed: { pending: P; result: PutEventsResultEntry | undefined }[] } {
  const succeeded: P[] = [];
  const failed: { pending: P; result: PutEventsResultEntry | undefined }[] = [];
  entries.forEach((pending, index) => {
    const result = results[index];
    if (result?.EventId !== undefined && result.ErrorCode === undefined) succeeded.push(pending);
    else failed.push({ pending, result });
  });
  return { succeeded, failed };
}

/** A Lambda-format stream image as a plain object. */
function imageOf(image: Record<string, AttributeValue>): Record<string, unknown> {
  // The Lambda event's AttributeValue is the SDK's with binary as base64 text; our items hold none.
  return unmarshall(image as unknown as Record<string, SdkAttributeValue>);
}

/** Whether a stream record is the insert of a revision item (the only records that publish). */
export function isRevisionInsert(record: DynamoDBRecord): boolean {
  const sk = record.dynamodb?.Keys?.[attr.sk]?.S;
  return record.eventName === 'INSERT' && sk !== undefined && sk.startsWith(REVISION_SK_PREFIX);
}

interface StreamPublishOutcome {
  /** Events published. */
  published: number;
  /** Stream records that must be retried, by sequence number, with the reason. */
  failures: Map<string, string>;
}

/**
 * Publishes the events of a batch of stream records (in stream order). A record that fails
 * to become an event, or whose event is not published, fails; so does every later record
 * of the same route, so that the retry, which starts at the first failure, keeps order.
 */
export async function publishStreamRecords(
  records: readonly DynamoDBRecord[],
  options: PublishOptions = {},
): Promise<StreamPublishOutcome> {
  const failures = new Map<string, string>();
  const broken = new Set<string>();
  const pending: PendingEvent[] = [];
  for (const record of records) {
    if (!isRevisionInsert(record)) continue;
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    const routeKey = record.dynamodb?.Keys?.[attr.pk]?.S ?? '';
    if (broken.has(routeKey)) {
      failures.set(sequenceNumber, blockedReason);
      continue;
    }
    try {
      const image = record.dynamodb?.NewImage;
      if (image === undefined) throw new Error('the record has no new image (the stream must carry NEW_IMAGE)');
      const item = imageOf(image);
      if (!isRevisionItem(item)) throw new Error('the new image is not a revision item');
      pending.push({ routeKey, sequenceNumber, event: routeEventOf(parseRevisionItem(item)) });
    } catch (error) {
      failures.set(sequenceNumber, `not an event: ${error instanceof Error ? error.message : String(error)}`);
      broken.add(routeKey);
    }
  }
  const report = await publishEvents(pending, options);
  for (const { item, reason } of report.failed) failures.set(item.sequenceNumber, reason);
  return { published: report.published.length, failures };
}
