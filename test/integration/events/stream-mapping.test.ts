/**
 * The local event source mapping (local/stream-poller.ts) against the emulator's real
 * stream, with the settings of the one definition (shared/events/stream-mapping.ts): a
 * batch whose invocation throws is bisected down to the failing record, which alone is
 * given up after `retryAttempts`; records older than `maxRecordAgeSeconds` are given up
 * whatever the retries left; what is given up lands in an SQS queue as Lambda's on-failure
 * message (the records' place in the stream), and redrive sends it through the publisher.
 */
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { redrive } from '#local/event-tools';
import { startStreamPoller, type StreamHandler } from '#local/stream-poller';
import type { StreamFailureMessage, StreamMappingSettings } from '#shared/events/stream-mapping';
import { testClientConfig, testDynamoDb, testSqs, uniqueName } from '#test/support/aws';
import { changeTo } from '#test/unit/events/stream-fixtures';
import { commit, createEventTable, type EventTable } from './event-harness.ts';

const dynamodb = testDynamoDb();
const sqs = testSqs();

let table: EventTable;
let deadLetterQueueUrl: string;

beforeEach(async () => {
  table = await createEventTable(dynamodb);
  ({ QueueUrl: deadLetterQueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('publisher-dlq') })));
});

afterEach(async () => {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterQueueUrl }));
  await table.remove();
});

afterAll(() => {
  dynamodb.destroy();
  sqs.destroy();
});

const revisionOf = (record: DynamoDBRecord): number => Number(record.dynamodb?.Keys?.SK?.S?.replace('REV#', ''));

async function commitRevisions(count: number): Promise<void> {
  for (let revision = 1; revision <= count; revision += 1) await commit(dynamodb, table.tableName, changeTo(revision));
}

/** Waits (bounded) for the dead-letter queue's first message and leaves it there; undefined if none came. */
async function deadLetter(): Promise<StreamFailureMessage | undefined> {
  for (let poll = 0; poll < 60; poll += 1) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, WaitTimeSeconds: 1 }));
    const [message] = Messages;
    if (message?.Body !== undefined) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }),
      );
      return JSON.parse(message.Body) as StreamFailureMessage;
    }
  }
  return undefined;
}

function poller(handler: StreamHandler, mapping: Partial<StreamMappingSettings>, now?: () => number) {
  return startStreamPoller({
    ...testClientConfig(),
    streamArn: table.streamArn,
    handler,
    mapping,
    deadLetterQueueUrl,
    retryDelayMs: 10,
    pollIntervalMs: 50,
    ...(now === undefined ? {} : { now }),
    onError: () => undefined,
  });
}

/** Runs `mapping` until the first dead letter (and, with `settle`, until it is idle), then stops it. */
async function firstDeadLetter(
  mapping: ReturnType<typeof poller>,
  { settle = true }: { settle?: boolean } = {},
): Promise<StreamFailureMessage | undefined> {
  try {
    const message = await deadLetter();
    if (settle) await mapping.settled();
    return message;
  } finally {
    await mapping.stop();
  }
}

describe('the local event source mapping', () => {
  it('bisects a batch whose invocation throws down to the failing record, and dead-letters that record alone after retryAttempts', async () => {
    await commitRevisions(4);
    const batches: number[][] = [];
    const handler: StreamHandler = async (event: DynamoDBStreamEvent) => {
      const revisions = event.Records.map(revisionOf);
      batches.push(revisions);
      if (revisions.includes(3)) throw new Error('revision 3 cannot be handled');
      return { batchItemFailures: [] };
    };
    const mapping = poller(handler, { retryAttempts: 1 });
    const message = await firstDeadLetter(mapping);

    // 4 records throw; halves [1,2] ok and [3,4] throw; [3] throws twice (1 retry); then [4].
    expect(batches).toEqual([[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [4]]);
    expect(message).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2, functionArn: expect.stringContaining(':function:') },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      DDBStreamBatchInfo: { batchSize: 1, streamArn: table.streamArn, shardId: expect.any(String) },
    });
    expect(message?.DDBStreamBatchInfo.startSequenceNumber).toBe(message?.DDBStreamBatchInfo.endSequenceNumber);
    expect(message?.DDBStreamBatchInfo.approximateArrivalOfFirstRecord).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('never sends a record older than maxRecordAgeSeconds to the function: it is dead-lettered as RecordAgeExceeded', async () => {
    await commitRevisions(2);
    const batches: number[][] = [];
    // The clock runs an hour ahead: every record is already an hour old.
    const mapping = poller(
      async (event) => {
        batches.push(event.Records.map(revisionOf));
        return { batchItemFailures: [] };
      },
      { maxRecordAgeSeconds: 60 },
      () => Date.now() + 3_600_000,
    );
    const message = await firstDeadLetter(mapping);
    expect(batches).toEqual([]);
    expect(message).toMatchObject({ requestContext: { condition: 'RecordAgeExceeded' }, DDBStreamBatchInfo: { batchSize: 2 } });
  });

  it('stops retrying once the failing record is too old, before retryAttempts run out (whichever comes first)', async () => {
    await commitRevisions(1);
    let offsetMs = 0;
    let invocations = 0;
    const mapping = poller(
      async (event) => {
        invocations += 1;
        // After the second failure the record is an hour old.
        if (invocations === 2) offsetMs = 3_600_000;
        return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' })) };
      },
      { retryAttempts: 100, maxRecordAgeSeconds: 60 },
      () => Date.now() + offsetMs,
    );
    const message = await firstDeadLetter(mapping, { settle: false });
    expect(invocations).toBe(2);
    expect(message).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded', approximateInvokeCount: 2 },
      DDBStreamBatchInfo: { batchSize: 1 },
    });
    expect(message?.responseContext.functionError).toBeUndefined();
  });

  it('redrive reads the dead-lettered records from the stream and invokes the publisher with them, then deletes the message', async () => {
    await commitRevisions(2);
    const mapping = poller(async () => {
      throw new Error('always');
    }, { retryAttempts: 0, bisectBatchOnError: false });
    try {
      expect(await deadLetter()).toMatchObject({ DDBStreamBatchInfo: { batchSize: 2 } });
    } finally {
      await mapping.stop();
    }
    const redriven: number[][] = [];
    const lines: string[] = [];
    const config = testClientConfig();
    const left = await redrive(
      { AwsEndpoint: config.endpoint, Region: config.region },
      deadLetterQueueUrl,
      async (event) => {
        redriven.push(event.Records.map(revisionOf));
        return { batchItemFailures: [] };
      },
      (line) => lines.push(line),
    );
    expect(left).toBe(0);
    expect(redriven).toEqual([[1, 2]]);
    expect(lines.at(-1)).toBe('redrive: 2 record(s) published, 0 message(s) left in the dead-letter queue');
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl }));
    expect(Messages).toEqual([]);
  });
});
