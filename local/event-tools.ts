/**
 * The local stack's event tools, used by `npm run events` (local/events.ts) and by tests:
 * a readable line per event, and the redrive of the publisher's dead-letter queue.
 *
 * `redrive` reads each dead-letter message (Lambda's on-failure message: where the records
 * are in the stream, not the records), reads those records from the table's stream, and
 * invokes the publisher with them, as the event source mapping would. A message is deleted
 * only once every one of its records has been published; otherwise it stays.
 */
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { passesPublisherFilter, type StreamFailureMessage } from '#shared/events/stream-mapping';
import { invocationContext } from './lambda-runtime.ts';
import { lambdaRecord, type StreamHandler } from './stream-poller.ts';
import { emulatorClientConfig } from './emulator.ts';

/** Where the local stack's AWS is, as outputs.json says. */
export interface EmulatorAddress {
  AwsEndpoint: string;
  Region: string;
}

/** Dead-letter messages handled in one redrive, at most (a bound on the loop, not a policy). */
const maxRedriveMessages = 1_000;
/** GetRecords calls per message, at most. */
const maxReadsPerMessage = 100;

export const clientConfig = (outputs: EmulatorAddress) => emulatorClientConfig(outputs.AwsEndpoint, outputs.Region);

const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '?');

/**
 * One readable line for an event as the tap queue receives it:
 * time, detail-type, tenant/service/env, revision, eventId.
 */
export function eventLine(body: string): string {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return `(not JSON) ${body.slice(0, 120)}`;
  }
  const envelope = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const detail = (typeof envelope.detail === 'object' && envelope.detail !== null ? envelope.detail : {}) as Record<
    string,
    unknown
  >;
  const where = `${text(detail.tenant)}/${text(detail.service)}/${text(detail.env)}`;
  return [
    text(envelope.time),
    text(envelope['detail-type']).padEnd(13),
    where,
    `rev ${text(detail.revision)}`,
    text(detail.eventId),
  ].join('  ');
}

/** Reads the records a dead-letter message points to, as the mapping would deliver them. */
async function recordsOf(streams: DynamoDBStreamsClient, message: StreamFailureMessage): Promise<DynamoDBRecord[]> {
  const batch = message.DDBStreamBatchInfo;
  const end = BigInt(batch.endSequenceNumber);
  let { ShardIterator: iterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: batch.streamArn,
      ShardId: batch.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: batch.startSequenceNumber,
    }),
  );
  const records: DynamoDBRecord[] = [];
  for (let reads = 0; reads < maxReadsPerMessage && iterator !== undefined; reads += 1) {
    const output = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    const page = output.Records ?? [];
    for (const record of page) {
      if (BigInt(record.dynamodb?.SequenceNumber ?? '0') > end) return records.filter(passesPublisherFilter);
      records.push(lambdaRecord(record, batch.streamArn));
    }
    if (page.length === 0) break;
    iterator = output.NextShardIterator;
  }
  return records.filter(passesPublisherFilter);
}

function isFailureMessage(value: unknown): value is StreamFailureMessage {
  const info = (value as { DDBStreamBatchInfo?: Record<string, unknown> } | null)?.DDBStreamBatchInfo;
  return (
    typeof info?.streamArn === 'string' &&
    typeof info.shardId === 'string' &&
    typeof info.startSequenceNumber === 'string' &&
    typeof info.endSequenceNumber === 'string'
  );
}

/** Redrives the dead-letter queue; returns how many messages are left in it because they failed again. */
export async function redrive(
  outputs: EmulatorAddress,
  queueUrl: string,
  publisher: StreamHandler,
  log: (line: string) => void = console.log,
): Promise<number> {
  const sqs = new SQSClient(clientConfig(outputs));
  const streams = new DynamoDBStreamsClient(clientConfig(outputs));
  let redriven = 0;
  let left = 0;
  /** Messages to make visible again once the run is over (so that this run sees each once). */
  const release: string[] = [];
  try {
    for (let handled = 0; handled < maxRedriveMessages; ) {
      const { Messages: messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      if (messages.length === 0) break;
      for (const message of messages) {
        handled += 1;
        const parsed: unknown = JSON.parse(message.Body ?? 'null');
        if (!isFailureMessage(parsed)) {
          log(`skipped message ${message.MessageId ?? '?'}: not a stream on-failure message`);
          release.push(message.ReceiptHandle ?? '');
          left += 1;
          continue;
        }
        const range = `${parsed.DDBStreamBatchInfo.startSequenceNumber}..${parsed.DDBStreamBatchInfo.endSequenceNumber}`;
        const records = await recordsOf(streams, parsed);
        if (records.length === 0) {
          log(`left ${range}: the stream no longer holds these records; republish them from their revision items (docs/events.md, "Recovering")`);
          release.push(message.ReceiptHandle ?? '');
          left += 1;
          continue;
        }
        const context = invocationContext({ functionName: 'publish-route-events-redrive', timeoutMs: 60_000 });
        const response = await publisher({ Records: records }, context).catch(() => ({
          batchItemFailures: [{ itemIdentifier: '' }],
        }));
        const failures = response?.batchItemFailures ?? [];
        if (failures.length === 0) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
          redriven += records.length;
          log(`redriven ${range}: ${records.length} record(s) published`);
        } else {
          release.push(message.ReceiptHandle ?? '');
          log(`left ${range}: ${failures.length} of ${records.length} record(s) still not published (see the publisher's log)`);
          left += 1;
        }
      }
    }
    // Visible again for the next redrive, or for whoever looks at the queue.
    for (const receiptHandle of release) {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }));
    }
  } finally {
    sqs.destroy();
    streams.destroy();
  }
  log(`redrive: ${redriven} record(s) published, ${left} message(s) left in the dead-letter queue`);
  return left;
}
