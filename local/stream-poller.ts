/**
 * The local stand-in for Lambda's DynamoDB event source mapping: reads the table's stream
 * from the emulator (DescribeStream, GetShardIterator, GetRecords), and invokes the
 * publisher handler with genuine `DynamoDBStreamEvent`s, as the mapping in
 * infra/constructs/event-publisher.ts would:
 *
 * - records that do not pass the filter are dropped without an invocation (FilterCriteria);
 * - a batch holds up to `batchSize` records of one shard, in stream order;
 * - `batchItemFailures` are honoured: the shard is read again from the lowest failed
 *   sequence number (records after it are delivered again too); a thrown error retries the
 *   whole batch; an unknown item identifier counts as a failure of the whole batch;
 * - after `maxRetries` retries of a batch it is given up (`onGiveUp`, the dead-letter queue
 *   of the real mapping) and reading goes on after it.
 *
 * Errors reading the stream (the emulator gone, say) are reported and polling goes on, so
 * that `stop()` is always clean.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as StreamsAttributeValue,
  type _Record as StreamsRecord,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { invocationContext } from './lambda-runtime.ts';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamPollerOptions {
  endpoint: string;
  region: string;
  streamArn: string;
  handler: StreamHandler;
  /** The function's name in the Lambda context. */
  functionName?: string;
  /** Where a shard is first read from. @default 'TRIM_HORIZON' */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** @default 100 */
  batchSize?: number;
  /** Pause between polls of a shard with nothing new. @default 250 */
  pollIntervalMs?: number;
  /** Retries of a failing batch before it is given up. @default 5 */
  maxRetries?: number;
  /** Pause before retry n is `retryDelayMs * 2^(n-1)`, at most 5 s. @default 200 */
  retryDelayMs?: number;
  /** The mapping's filter: records for which it is false are not delivered. @default all */
  filter?: (record: DynamoDBRecord) => boolean;
  /** Called with the records of a batch given up after `maxRetries` (from the first failure on). */
  onGiveUp?: (records: DynamoDBRecord[], reason: string) => void;
  /** Called when reading the stream or invoking the handler goes wrong. */
  onError?: (error: unknown) => void;
}

export interface StreamPoller {
  /** Resolves once a poll after this call has found nothing new to deliver on any shard. */
  settled(): Promise<void>;
  /** Stops polling; resolves once the poll in progress, if any, has finished. */
  stop(): Promise<void>;
}

interface ShardState {
  shardId: string;
  iterator: string | undefined;
  /** The last sequence number delivered successfully (or given up). */
  checkpoint: string | undefined;
  /** Retries of the batch that starts at `iterator`. */
  retries: number;
  closed: boolean;
}

/** A DynamoDB Streams attribute value as Lambda's event carries it (binary as base64). */
export function lambdaAttribute(value: StreamsAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(lambdaAttribute) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  return value as AttributeValue;
}

function lambdaImage(image: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaAttribute(value)]));
}

/** A GetRecords record as the event source mapping hands it to Lambda. */
export function lambdaRecord(record: StreamsRecord, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(stream.ApproximateCreationDateTime === undefined
        ? {}
        : { ApproximateCreationDateTime: Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000) }),
      ...(stream.Keys === undefined ? {} : { Keys: lambdaImage(stream.Keys) }),
      ...(stream.NewImage === undefined ? {} : { NewImage: lambdaImage(stream.NewImage) }),
      ...(stream.OldImage === undefined ? {} : { OldImage: lambdaImage(stream.OldImage) }),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    },
  };
}

const compareSequence = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * What the mapping does with a handler's answer: undefined when the batch succeeded, else
 * the index of the first record to deliver again.
 */
export function firstFailure(records: readonly DynamoDBRecord[], response: DynamoDBBatchResponse | undefined): number | undefined {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  const sequenceNumbers = records.map((record) => record.dynamodb?.SequenceNumber ?? '');
  let first: number | undefined;
  for (const { itemIdentifier } of failures) {
    const index = sequenceNumbers.indexOf(itemIdentifier);
    // An identifier that names no record of the batch fails the whole batch.
    if (itemIdentifier === '' || index === -1) return 0;
    if (first === undefined || compareSequence(itemIdentifier, sequenceNumbers[first] ?? '') < 0) first = index;
  }
  return first;
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const client = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maxRetries = options.maxRetries ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const filter = options.filter ?? (() => true);
  const functionName = options.functionName ?? 'publish-route-events';
  const onError = options.onError ?? ((error: unknown) => console.error('stream poller:', error));
  const shards = new Map<string, ShardState>();
  /** Waiters for an idle poll that starts at or after `from`. */
  let settledWaiters: { from: number; resolve: () => void }[] = [];
  let iteration = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  async function discoverShards(): Promise<void> {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: options.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId;
      if (shardId === undefined || shards.has(shardId)) continue;
      // A shard found later (a child of a closed one) is read from its start.
      const first = shards.size === 0;
      const state: ShardState = { shardId, iterator: undefined, checkpoint: undefined, retries: 0, closed: false };
      state.iterator = await iteratorAt(shardId, first ? (options.startingPosition ?? 'TRIM_HORIZON') : 'TRIM_HORIZON');
      shards.set(shardId, state);
    }
  }

  async function iteratorAt(shardId: string, type: ShardIteratorType, sequenceNumber?: string): Promise<string | undefined> {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamArn: options.streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
      }),
    );
    return ShardIterator;
  }

  /** Polls a shard once; returns whether it delivered (or tried to deliver) anything. */
  async function pollShard(state: ShardState): Promise<boolean> {
    if (state.iterator === undefined) {
      state.iterator =
        state.checkpoint === undefined
          ? await iteratorAt(state.shardId, 'TRIM_HORIZON')
          : await iteratorAt(state.shardId, 'AFTER_SEQUENCE_NUMBER', state.checkpoint);
    }
    const output = await client.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: batchSize }));
    const next = output.NextShardIterator;
    const all = (output.Records ?? []).map((record) => lambdaRecord(record, options.streamArn));
    if (next === undefined) state.closed = true;
    const records = all.filter(filter);
    const last = all.at(-1)?.dynamodb?.SequenceNumber;
    if (records.length === 0) {
      // Nothing for the function (or filtered out): move past it.
      state.iterator = next;
      if (last !== undefined) state.checkpoint = last;
      return false;
    }
    let response: DynamoDBBatchResponse | undefined;
    let failedAt: number | undefined;
    let reason = 'batchItemFailures';
    try {
      response = await options.handler({ Records: records }, invocationContext({ functionName, timeoutMs: 60_000 }));
      failedAt = firstFailure(records, response);
    } catch (error) {
      failedAt = 0;
      reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      onError(error);
    }
    if (failedAt === undefined) {
      state.iterator = next;
      state.checkpoint = last;
      state.retries = 0;
      return true;
    }
    const failedSequence = records[failedAt]?.dynamodb?.SequenceNumber ?? '';
    if (state.retries >= maxRetries) {
      options.onGiveUp?.(records.slice(failedAt), reason);
      state.iterator = next;
      state.checkpoint = last;
      state.retries = 0;
      return true;
    }
    state.retries += 1;
    await sleep(Math.min(5_000, retryDelayMs * 2 ** (state.retries - 1)));
    state.iterator = stopped ? undefined : await iteratorAt(state.shardId, 'AT_SEQUENCE_NUMBER', failedSequence);
    return true;
  }

  const loop = (async () => {
    while (!stopped) {
      iteration += 1;
      let busy = false;
      try {
        await discoverShards();
        for (const state of shards.values()) {
          if (stopped) break;
          if (state.closed) continue;
          if (await pollShard(state)) busy = true;
        }
      } catch (error) {
        if (stopped) break;
        onError(error);
        // An expired or lost iterator is taken again from the checkpoint.
        for (const state of shards.values()) state.iterator = undefined;
        busy = true;
        await sleep(1_000);
      }
      if (!busy) {
        const ready = settledWaiters.filter((waiter) => waiter.from <= iteration);
        settledWaiters = settledWaiters.filter((waiter) => waiter.from > iteration);
        for (const waiter of ready) waiter.resolve();
      }
      if (!stopped && !busy) await sleep(pollIntervalMs);
    }
  })();

  return {
    settled: () =>
      new Promise<void>((resolve) => {
        // A poll already under way may have read the stream before the caller's writes.
        settledWaiters.push({ from: iteration + 1, resolve });
      }),
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      wake?.();
      await loop;
      for (const waiter of settledWaiters) waiter.resolve();
      settledWaiters = [];
      client.destroy();
    },
  };
}
