/**
 * What the event integration tests share: a table of their own (the routes table's
 * definition, with its stream) so its stream holds only their records; a queue subscribed
 * to the shared bus by a rule for their tenant only; the store's own items written the way
 * the store writes them; the stream's records in Lambda's format; and PutEvents partial
 * failures injected through the SDK middleware stack.
 */
import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import {
  DeleteRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type EventBridgeClient,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { localNames } from '#infra/resources';
import { createTableInput } from '#local/provision';
import { lambdaRecord } from '#local/stream-poller';
import { changeItems, type Change } from '#test/unit/events/stream-fixtures';
import { uniqueName } from '#test/support/aws';

export interface EventTable {
  tableName: string;
  streamArn: string;
  remove(): Promise<void>;
}

export async function createEventTable(dynamodb: DynamoDBClient): Promise<EventTable> {
  const tableName = uniqueName('events');
  const created = await dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  const streamArn = created.TableDescription?.LatestStreamArn;
  if (streamArn === undefined) throw new Error('the table has no stream');
  return { tableName, streamArn, remove: async () => void (await dynamodb.send(new DeleteTableCommand({ TableName: tableName }))) };
}

/** Commits a change as the store does: the route item and the revision item in one transaction. */
export async function commit(dynamodb: DynamoDBClient, tableName: string, change: Change): Promise<void> {
  const { routeItem, revisionItem } = changeItems(change);
  const documents = DynamoDBDocumentClient.from(dynamodb);
  await documents.send(
    new TransactWriteCommand({
      TransactItems: [{ Put: { TableName: tableName, Item: routeItem } }, { Put: { TableName: tableName, Item: revisionItem } }],
    }),
  );
}

/** Writes an item as is (an idempotency record, or a route item rewritten unchanged). */
export async function putItem(dynamodb: DynamoDBClient, tableName: string, item: Record<string, unknown>): Promise<void> {
  await DynamoDBDocumentClient.from(dynamodb).send(new PutCommand({ TableName: tableName, Item: item }));
}

/** Every record of the stream so far, as Lambda would deliver them. */
export async function streamRecords(streams: DynamoDBStreamsClient, streamArn: string): Promise<DynamoDBRecord[]> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: DynamoDBRecord[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    for (;;) {
      const output = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      const batch = output.Records ?? [];
      records.push(...batch.map((record) => lambdaRecord(record, streamArn)));
      iterator = output.NextShardIterator;
      if (batch.length === 0 || iterator === undefined) break;
    }
  }
  return records;
}

export interface TenantQueue {
  queueUrl: string;
  remove(): Promise<void>;
}

/** A queue receiving the events of one tenant from the shared bus, by a rule of its own. */
export async function subscribeTenant(events: EventBridgeClient, sqs: SQSClient, tenant: string): Promise<TenantQueue> {
  const name = uniqueName('route-events');
  const { QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const eventBusName = localNames.eventBusName;
  await events.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: eventBusName,
      EventPattern: JSON.stringify({ source: ['traffic-manager'], detail: { tenant: [tenant] } }),
      State: 'ENABLED',
    }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: name, EventBusName: eventBusName, Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }),
  );
  return {
    queueUrl,
    remove: async () => {
      await events.send(new RemoveTargetsCommand({ Rule: name, EventBusName: eventBusName, Ids: ['queue'] }));
      await events.send(new DeleteRuleCommand({ Name: name, EventBusName: eventBusName }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
  };
}

export interface PutEventsFault {
  /** The entries of every PutEvents call, as the code under test sent them. */
  readonly calls: PutEventsRequestEntry[][];
  /** Entries failed so far. */
  readonly failed: number;
  remove(): void;
}

type Middleware = (
  next: (args: { input: PutEventsCommandInput }) => Promise<{ output: PutEventsCommandOutput }>,
  context: { commandName?: string },
) => (args: { input: PutEventsCommandInput }) => Promise<{ output: PutEventsCommandOutput }>;

interface StackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; priority: 'high' }): void;
  remove(name: string): boolean;
}

let faults = 0;

/**
 * EventBridge's partial failure, as it happens: the entries `shouldFail` picks (at most
 * `times` of them in all) are not accepted — they never reach the bus — and the response
 * marks them failed in place (`ErrorCode`, no `EventId`) with `FailedEntryCount` set. The
 * other entries go through to the emulator.
 */
export function failPutEventsEntries(
  client: EventBridgeClient,
  shouldFail: (entry: PutEventsRequestEntry) => boolean,
  times = Number.POSITIVE_INFINITY,
): PutEventsFault {
  faults += 1;
  const name = `putEventsFault${faults}`;
  const state = { calls: [] as PutEventsRequestEntry[][], failed: 0 };
  const stack = client.middlewareStack as unknown as StackLike;
  stack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutEventsCommand') return next(args);
      const entries = args.input.Entries ?? [];
      state.calls.push(entries);
      const failing = entries.map((entry) => {
        if (state.failed >= times || !shouldFail(entry)) return false;
        state.failed += 1;
        return true;
      });
      const kept = entries.filter((_, index) => failing[index] !== true);
      const rejected: PutEventsResultEntry = { ErrorCode: 'InternalFailure', ErrorMessage: 'injected partial failure' };
      if (kept.length === 0) {
        return { output: { $metadata: {}, FailedEntryCount: entries.length, Entries: entries.map(() => rejected) } };
      }
      const result = await next({ ...args, input: { ...args.input, Entries: kept } });
      const accepted = [...(result.output.Entries ?? [])];
      const merged = failing.map((fails) => (fails ? rejected : (accepted.shift() ?? rejected)));
      return {
        ...result,
        output: {
          ...result.output,
          Entries: merged,
          FailedEntryCount: merged.filter((entry) => entry.ErrorCode !== undefined).length,
        },
      };
    },
    { step: 'initialize', name, priority: 'high' },
  );
  return {
    get calls() {
      return state.calls;
    },
    get failed() {
      return state.failed;
    },
    remove: () => {
      stack.remove(name);
    },
  };
}

/** Whether a PutEvents entry is the event of `revision` of a route of `tenant`/`service`. */
export function isEventOf(entry: PutEventsRequestEntry, service: string, revision: number): boolean {
  const detail = JSON.parse(entry.Detail ?? '{}') as { service?: string; revision?: number };
  return detail.service === service && detail.revision === revision;
}
