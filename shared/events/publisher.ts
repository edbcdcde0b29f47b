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
import { attr } from '../store/route-keys.ts';
import { isRevisionItem, parseRevisionItem, type StoredRevision } from '../store/revision-item.ts';
import { MAX_EVENT_ENTRY_BYTES } from './event-size.ts';
import {
  RouteEventDetailSchema,
  detailTypeOf,
  eventSource,
  routeEventId,
  type RouteEventMessage,
} from './route-event.schema.ts';
import { passesPublisherFilter } from './stream-mapping.ts';

/** EventBridge's limits on one `PutEvents` call. */
export const putEventsLimits = { maxEntries: 10, maxBytes: MAX_EVENT_ENTRY_BYTES } as const;

interface RetryPolicy {
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

/** An event that was not published; its message says why. */
class EventNotPublishedError extends Error {
  override readonly name = 'EventNotPublishedError';
}

interface Queued<T> {
  item: T;
  published: () => void;
  failed: (reason: string) => void;
}

/**
 * Publishes the events handed to it in revision order per route (see the module comment),
 * gathering the events handed over together into as few `PutEvents` calls as the limits
 * allow. `send` settles when the event is on the bus or has failed for good. Once an event
 * of a route fails, the route's later events fail without being sent, for the sender's life:
 * use one sender per batch.
 */
class EventSender<T extends PendingEvent = PendingEvent> {
  /** `PutEvents` calls made, retries included. */
  calls = 0;
  readonly #queues = new Map<string, Queued<T>[]>();
  readonly #blocked = new Set<string>();
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #busName: string;
  #draining = false;
  /** The wave whose PutEvents calls are under way: failed too if the drain itself fails. */
  #inFlight: Queued<T>[] = [];

  constructor(options: PublishOptions = {}) {
    this.#retry = options.retry ?? defaultRetryPolicy;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#busName = options.busName ?? eventBusName;
  }

  /** Resolves once the event is on the bus; rejects with an `EventNotPublishedError` saying why it is not. */
  send(item: T): Promise<void> {
    if (this.#blocked.has(item.routeKey)) return Promise.reject(new EventNotPublishedError(blockedReason));
    const { promise, resolve, reject } = Promise.withResolvers<undefined>();
    const queue = this.#queues.get(item.routeKey) ?? [];
    queue.push({ item, published: () => resolve(undefined), failed: (reason) => reject(new EventNotPublishedError(reason)) });
    this.#queues.set(item.routeKey, queue);
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
    return promise;
  }

  /** Fails the later events of a route whose event could not even be made. */
  block(routeKey: string): void {
    this.#blocked.add(routeKey);
  }

  #fail(entry: Queued<T>, reason: string): void {
    entry.failed(reason);
    this.block(entry.item.routeKey);
    for (const later of this.#queues.get(entry.item.routeKey) ?? []) later.failed(blockedReason);
    this.#queues.delete(entry.item.routeKey);
  }

  async #drain(): Promise<void> {
    do {
      try {
        // Callers hand over a batch's events in one go (Powertools' processor starts every
        // record's handler at once): wait for all of them, so that the first wave holds them all.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.#sendWaves();
      } catch (error) {
        // Not expected (failed calls are caught where they are made), but nothing may wait
        // forever: neither the wave in flight nor what is still queued.
        const reason = `publishing failed: ${error instanceof Error ? error.message : String(error)}`;
        for (const queued of this.#inFlight) this.#fail(queued, reason);
        for (const queue of [...this.#queues.values()]) for (const queued of queue) this.#fail(queued, reason);
      } finally {
        this.#inFlight = [];
      }
      // A send may land after the last check of the queues and before this line: its event
      // is in a queue, and no other drain runs, so this one goes round again.
    } while (this.#queues.size > 0);
    this.#draining = false;
  }

  async #sendWaves(): Promise<void> {
    // Waves: the head of each route's queue, so a route has at most one event in flight.
    while (this.#queues.size > 0) {
      const wave: { queued: Queued<T>; entry: PutEventsRequestEntry; size: number }[] = [];
      for (const [routeKey, queue] of this.#queues) {
        queue.sort((a, b) => a.item.event.detail.revision - b.item.event.detail.revision);
        const queued = queue.shift();
        if (queue.length === 0) this.#queues.delete(routeKey);
        if (queued === undefined) continue;
        const checked = RouteEventDetailSchema.safeParse(queued.item.event.detail);
        if (!checked.success) {
          this.#fail(queued, `invalid event: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          continue;
        }
        const entry = putEventsEntry(queued.item.event, this.#busName);
        const size = entrySize(entry);
        if (size > putEventsLimits.maxBytes) {
          this.#fail(queued, `the event is ${size} bytes, over the ${putEventsLimits.maxBytes}-byte PutEvents limit`);
          continue;
        }
        wave.push({ queued, entry, size });
      }
      this.#inFlight = wave.map(({ queued }) => queued);
      const chunks = chunkEntries(wave, (pending) => pending.size);
      // The whole wave settles before its events do, so the next wave gathers every route again.
      const outcomes = await Promise.all(chunks.map((chunk) => this.#putWithRetry(chunk)));
      this.#inFlight = [];
      for (const { published, failures } of outcomes) {
        for (const queued of published) queued.published();
        for (const { item: queued, reason } of failures) this.#fail(queued, reason);
      }
    }
  }

  /** Sends one call's entries; retries only the failed ones. */
  async #putWithRetry(
    chunk: readonly { queued: Queued<T>; entry: PutEventsRequestEntry }[],
  ): Promise<{ published: Queued<T>[]; failures: FailedEvent<Queued<T>>[] }> {
    let pending = [...chunk];
    const published: Queued<T>[] = [];
    let failures: FailedEvent<Queued<T>>[] = [];
    for (let attempt = 1; attempt <= this.#retry.maxAttempts && pending.length > 0; attempt += 1) {
      if (attempt > 1) {
        const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 2));
        await this.#sleep(Math.random() * cap);
      }
      this.calls += 1;
      let results: (PutEventsResultEntry | undefined)[];
      try {
        const output = await eventBridgeClient.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        results = output.Entries ?? [];
        if ((output.FailedEntryCount ?? 0) === 0 && results.length === pending.length) {
          published.push(...pending.map((p) => p.queued));
          return { published, failures: [] };
        }
      } catch (error) {
        // The whole call failed (after the SDK's own retries): every entry is retried.
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        failures = pending.map((p) => ({ item: p.queued, reason }));
        continue;
      }
      const { succeeded, failed } = splitResults(pending, results);
      published.push(...succeeded.map((p) => p.queued));
      failures = failed.map(({ pending: p, result }) => ({
        item: p.queued,
        reason: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? 'no result entry for this event'}`,
      }));
      pending = failed.map(({ pending: p }) => p);
    }
    return { published, failures };
  }
}

/**
 * Publishes events in revision order per route (see the module comment), all at once: the
 * replay's way. The input's order within a route is kept after sorting by revision; routes
 * are independent of each other.
 */
export async function publishEvents<T extends PendingEvent>(
  items: readonly T[],
  options: PublishOptions = {},
): Promise<PublishReport<T>> {
  const sender = new EventSender<T>(options);
  const report: PublishReport<T> = { published: [], failed: [], calls: 0 };
  await Promise.all(
    items.map((item) =>
      sender.send(item).then(
        () => void report.published.push(item),
        (error: unknown) => void report.failed.push({ item, reason: error instanceof Error ? error.message : String(error) }),
      ),
    ),
  );
  report.calls = sender.calls;
  return report;
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

/** The event of a revision insert's stream record; throws when the record cannot be one. */
function eventOfRecord(record: DynamoDBRecord): RouteEventMessage {
  const image = record.dynamodb?.NewImage;
  if (image === undefined) throw new Error('the record has no new image (the stream must carry NEW_IMAGE)');
  const item = imageOf(image);
  if (!isRevisionItem(item)) throw new Error('the new image is not a revision item');
  return routeEventOf(parseRevisionItem(item));
}

/**
 * The record handler for Powertools' batch processor over one batch of stream records
 * (functions/events/publish-route-events.ts); use one per batch. It publishes the event of a
 * revision insert and ignores every other record (those the mapping's filter would drop).
 * A record that cannot become an event, or whose event is not published, fails; so does
 * every later record of the same route, so that the retry, which starts at the first
 * failure, keeps order. The processor starts every record's handler at once, in stream
 * order (its default, `processInParallel`), and one `EventSender` gathers their events into
 * shared `PutEvents` calls; processed one by one, order would hold but each event would
 * take a call of its own.
 */
export class StreamRecordPublisher {
  /** Records that failed, by sequence number, with the reason. */
  readonly failures = new Map<string, string>();
  /** Events published. */
  published = 0;
  readonly #sender: EventSender;

  constructor(options: PublishOptions = {}) {
    this.#sender = new EventSender(options);
  }

  readonly handleRecord = async (record: DynamoDBRecord): Promise<void> => {
    if (!passesPublisherFilter(record)) return;
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    const routeKey = record.dynamodb?.Keys?.[attr.pk]?.S ?? '';
    try {
      let event: RouteEventMessage;
      try {
        event = eventOfRecord(record);
      } catch (error) {
        this.#sender.block(routeKey);
        throw new EventNotPublishedError(`not an event: ${error instanceof Error ? error.message : String(error)}`);
      }
      await this.#sender.send({ routeKey, sequenceNumber, event });
      this.published += 1;
    } catch (error) {
      this.failures.set(sequenceNumber, error instanceof Error ? error.message : String(error));
      throw error;
    }
  };
}
