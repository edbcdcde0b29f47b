/**
 * The local stand-in for Lambda's DynamoDB event source mapping: reads the table's stream
 * from the emulator (DescribeStream, GetShardIterator, GetRecords), and invokes the
 * publisher handler with genuine `DynamoDBStreamEvent`s, with the settings of the deployed
 * mapping (shared/events/stream-mapping.ts, the one definition both read):
 *
 * - records that do not pass the filter are dropped without an invocation (FilterCriteria);
 * - a batch holds up to `batchSize` records of one shard, in stream order;
 * - `batchItemFailures` are honoured: the next batch starts at the lowest failed sequence
 *   number (records after it are delivered again too); an unknown item identifier fails
 *   the whole batch;
 * - a batch whose invocation throws is split in two when `bisectBatchOnError` is on, and
 *   the halves are tried in order (a split does not count as a retry, as in Lambda);
 * - a failing batch is retried until `retryAttempts` retries have failed or its first
 *   record is older than `maxRecordAgeSeconds`, whichever comes first (-1: no limit); a
 *   record already older than that is never sent to the function. Records given up are
 *   sent to the on-failure destination (an SQS queue) as Lambda sends them: their place in
 *   the stream (`DDBStreamBatchInfo`), not their content. The shard moves on only once the
 *   queue has taken the message, so nothing is dropped without a trace.
 *
 * Errors reading the stream (the emulator gone, say) are reported and polling goes on, so
 * that `stop()` is always clean.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as StreamsAttributeValue,
  type _Record as StreamsRecord,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AttributeValue, Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  matchesFilter,
  publisherStreamMapping,
  type GiveUpCondition,
  type StreamFailureMessage,
  type StreamMappingSettings,
} from '#shared/events/stream-mapping';
import { invocationContext, runInvocation } from './lambda-runtime.ts';
import { emulatorClientConfig } from './emulator.ts';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | undefined>;

interface StreamPollerOptions {
  endpoint: string;
  region: string;
  streamArn: string;
  handler: StreamHandler;
  /** The function's name in the Lambda context and the on-failure message. */
  functionName?: string;
  /**
   * The mapping's settings; tests and `npm start` may override some (shorter limits).
   * @default publisherStreamMapping
   */
  mapping?: Partial<StreamMappingSettings>;
  /** Pause between polls of a shard with nothing new. @default 250 */
  pollIntervalMs?: number;
  /** Pause before retry n is `retryDelayMs * 2^(n-1)`, at most `maxRetryDelayMs`. @default 200 */
  retryDelayMs?: number;
  /** @default 5000 */
  maxRetryDelayMs?: number;
  /** The on-failure destination: an SQS queue URL. Without one, given-up records are only reported. */
  deadLetterQueueUrl?: string;
  /** Called once the records of a batch have been given up (and sent to the queue, if any). */
  onGiveUp?: (message: StreamFailureMessage, records: DynamoDBRecord[]) => void;
  /** Called when reading the stream, invoking the handler or sending to the queue goes wrong. */
  onError?: (error: unknown) => void;
  /** The clock records' ages are measured by. @default Date.now */
  now?: () => number;
}

interface StreamPoller {
  /** Resolves once a poll after this call has found nothing new to deliver on any shard. */
  settled(): Promise<void>;
  /** Stops polling; resolves once the poll in progress, if any, has finished. */
  stop(): Promise<void>;
}

interface ShardState {
  shardId: string;
  /** Where the next GetRecords reads; re-taken after `lastRead` when lost. */
  iterator: string | undefined;
  /** The last sequence number read from the shard (delivered or waiting in `pending`). */
  lastRead: string | undefined;
  /** Records read that passed the filter and are not done yet, in stream order. */
  pending: DynamoDBRecord[];
  /** Failed invocations of the batch that starts at `pending[0]`. */
  attempts: number;
  /** After a bisection: the size of the next batch. */
  window: number | undefined;
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

/** Seconds since the record was written (its ApproximateCreationDateTime). */
const ageSeconds = (record: DynamoDBRecord, nowMs: number): number =>
  nowMs / 1000 - (record.dynamodb?.ApproximateCreationDateTime ?? nowMs / 1000);

const isoSeconds = (epochSeconds: number | undefined): string =>
  new Date((epochSeconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The message Lambda sends to a stream mapping's on-failure destination for `records`. */
export function streamFailureMessage(options: {
  records: readonly DynamoDBRecord[];
  shardId: string;
  streamArn: string;
  functionArn: string;
  condition: GiveUpCondition;
  invokeCount: number;
  functionError: boolean;
  now: Date;
}): StreamFailureMessage {
  const { records } = options;
  const first = records[0]?.dynamodb;
  const last = records.at(-1)?.dynamodb;
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: options.functionArn,
      condition: options.condition,
      approximateInvokeCount: options.invokeCount,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(options.functionError ? { functionError: 'Unhandled' } : {}),
    },
    version: '1.0',
    timestamp: options.now.toISOString(),
    DDBStreamBatchInfo: {
      shardId: options.shardId,
      startSequenceNumber: first?.SequenceNumber ?? '',
      endSequenceNumber: last?.SequenceNumber ?? '',
      approximateArrivalOfFirstRecord: isoSeconds(first?.ApproximateCreationDateTime),
      approximateArrivalOfLastRecord: isoSeconds(last?.ApproximateCreationDateTime),
      batchSize: records.length,
      streamArn: options.streamArn,
    },
  };
}

/** Whether a batch is past the mapping's limits: which condition, or undefined to retry. */
export function giveUpCondition(
  mapping: Pick<StreamMappingSettings, 'retryAttempts' | 'maxRecordAgeSeconds'>,
  failedInvocations: number,
  oldestAgeSeconds: number,
): GiveUpCondition | undefined {
  if (mapping.maxRecordAgeSeconds !== -1 && oldestAgeSeconds > mapping.maxRecordAgeSeconds) return 'RecordAgeExceeded';
  if (mapping.retryAttempts !== -1 && failedInvocations > mapping.retryAttempts) return 'RetryAttemptsExhausted';
  return undefined;
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const clientConfig = { ...emulatorClientConfig(options.endpoint, options.region), maxAttempts: 1 };
  const client = new DynamoDBStreamsClient(clientConfig);
  const sqs = options.deadLetterQueueUrl === undefined ? undefined : new SQSClient(clientConfig);
  const mapping: StreamMappingSettings = { ...publisherStreamMapping, ...options.mapping };
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  const filter = (record: DynamoDBRecord): boolean => matchesFilter(record, mapping.filter);
  const now = options.now ?? Date.now;
  const functionName = options.functionName ?? 'publish-route-events';
  const functionArn = `arn:aws:lambda:${options.region}:000000000000:function:${functionName}`;
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
      const state: ShardState = {
        shardId,
        iterator: undefined,
        lastRead: undefined,
        pending: [],
        attempts: 0,
        window: undefined,
        closed: false,
      };
      state.iterator = await iteratorAt(shardId, first ? mapping.startingPosition : 'TRIM_HORIZON');
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

  /** Reads the next records of a shard into `pending`. */
  async function read(state: ShardState): Promise<void> {
    if (state.iterator === undefined) {
      state.iterator =
        state.lastRead === undefined
          ? await iteratorAt(state.shardId, 'TRIM_HORIZON')
          : await iteratorAt(state.shardId, 'AFTER_SEQUENCE_NUMBER', state.lastRead);
    }
    const output = await client.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: mapping.batchSize }));
    const all = (output.Records ?? []).map((record) => lambdaRecord(record, options.streamArn));
    state.iterator = output.NextShardIterator;
    if (output.NextShardIterator === undefined) state.closed = true;
    state.lastRead = all.at(-1)?.dynamodb?.SequenceNumber ?? state.lastRead;
    state.pending.push(...all.filter(filter));
  }

  /** Sends records to the on-failure destination; returns false when that failed (try again later). */
  async function giveUp(
    state: ShardState,
    records: DynamoDBRecord[],
    condition: GiveUpCondition,
    functionError: boolean,
  ): Promise<boolean> {
    const message = streamFailureMessage({
      records,
      shardId: state.shardId,
      streamArn: options.streamArn,
      functionArn,
      condition,
      invokeCount: state.attempts,
      functionError,
      now: new Date(now()),
    });
    if (sqs !== undefined) {
      try {
        await sqs.send(new SendMessageCommand({ QueueUrl: options.deadLetterQueueUrl, MessageBody: JSON.stringify(message) }));
      } catch (error) {
        onError(error);
        return false;
      }
    }
    state.pending.splice(0, records.length);
    state.attempts = 0;
    state.window = undefined;
    options.onGiveUp?.(message, records);
    return true;
  }

  /** Polls a shard once; returns whether it delivered (or tried to deliver) anything. */
  async function pollShard(state: ShardState): Promise<boolean> {
    if (state.pending.length === 0) await read(state);
    if (state.pending.length === 0) return false;

    // Records already too old are not sent to the function (the stream is in time order,
    // so they lead the batch).
    const expired = state.pending
      .slice(0, mapping.batchSize)
      .filter((record) => giveUpCondition({ ...mapping, retryAttempts: -1 }, 0, ageSeconds(record, now())) !== undefined);
    if (expired.length > 0) {
      if (!(await giveUp(state, expired, 'RecordAgeExceeded', state.attempts > 0))) await sleep(1_000);
      return true;
    }

    const batch = state.pending.slice(0, Math.min(mapping.batchSize, state.window ?? mapping.batchSize));
    const context = invocationContext({ functionName, timeoutMs: 60_000 });
    let failedAt: number | undefined;
    let threw = false;
    try {
      const response = await runInvocation(context, () => options.handler({ Records: batch }, context));
      failedAt = mapping.reportBatchItemFailures ? firstFailure(batch, response) : undefined;
    } catch (error) {
      threw = true;
      failedAt = 0;
      onError(error);
    }
    if (failedAt === undefined) {
      state.pending.splice(0, batch.length);
      state.attempts = 0;
      state.window = undefined;
      return true;
    }
    if (threw && mapping.bisectBatchOnError && batch.length > 1) {
      // Split in two and try the first half; a split is not a retry.
      state.window = Math.ceil(batch.length / 2);
      return true;
    }
    // The records before the first failure are done: the checkpoint moves to it.
    state.pending.splice(0, failedAt);
    state.attempts = failedAt > 0 ? 1 : state.attempts + 1;
    const failing = batch.slice(failedAt);
    const oldest = failing[0];
    const condition = giveUpCondition(mapping, state.attempts, oldest === undefined ? 0 : ageSeconds(oldest, now()));
    if (condition !== undefined) {
      if (!(await giveUp(state, failing, condition, threw))) await sleep(1_000);
      return true;
    }
    await sleep(Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (state.attempts - 1)));
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
          if (state.closed && state.pending.length === 0) continue;
          if (await pollShard(state)) busy = true;
        }
      } catch (error) {
        if (stopped) break;
        onError(error);
        // An expired or lost iterator is taken again after the last record read.
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
      sqs?.destroy();
    },
  };
}
