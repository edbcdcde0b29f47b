/**
 * The emulator contract: where moto differs from AWS in ways our code or tests depend on.
 * Each test pins one behaviour of the pinned moto version, so an upgrade that changes it
 * fails here, loudly, instead of silently hiding a gap. README "Local AWS and its limits"
 * says how the project covers each one.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  GetItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import {
  DeleteRuleCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { localNames } from '#infra/resources';
import { execFileSync } from 'node:child_process';
import { createTableInput } from '#local/provision';
import { repoRoot, venvPython } from '#local/paths';
import { testDynamoDb, testEventBridge, testSqs, testStreams, uniqueName } from '#test/support/aws';
import { streamRecords } from './events/event-harness.ts';

let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let events: EventBridgeClient;
let sqs: SQSClient;
let tableName: string;
let streamArn: string;

beforeAll(async () => {
  dynamodb = testDynamoDb();
  streams = testStreams();
  events = testEventBridge();
  sqs = testSqs();
  tableName = uniqueName('contract');
  const created = await dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  streamArn = created.TableDescription?.LatestStreamArn ?? '';
});

afterAll(async () => {
  await dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
  for (const client of [dynamodb, streams, events, sqs]) client.destroy();
});

const item = (pk: string, extra: Record<string, { S: string } | { N: string }> = {}) => ({
  PK: { S: pk },
  SK: { S: 'ROUTE' },
  ...extra,
});

async function streamRecordsFor(pk: string) {
  const records = await streamRecords(streams, streamArn);
  return records.filter((record) => record.dynamodb?.Keys?.PK?.S === pk);
}

describe('our launcher (serialised requests)', () => {
  it('lets exactly one of 40 concurrent conditional writes on one item win, as DynamoDB does', async () => {
    const pk = uniqueName('race');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, writer) =>
        dynamodb.send(
          new PutItemCommand({
            TableName: tableName,
            Item: item(pk, { writer: { N: String(writer) } }),
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        ),
      ),
    );
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter(
      (outcome) => outcome.status === 'rejected' && outcome.reason instanceof ConditionalCheckFailedException,
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(39);
  });

  // moto is usually quick enough that the race above rarely shows without the lock, so
  // the lock itself is checked too: requests into a slow app never overlap.
  it('never lets two requests into the wrapped app at once', () => {
    const probe = [
      'import sys, threading, time',
      'sys.path.insert(0, "emulator")',
      'from launcher import SerialisedApp',
      'inside = 0; most = 0; guard = threading.Lock()',
      'def slow_app(environ, start_response):',
      '    global inside, most',
      '    with guard: inside += 1; most = max(most, inside)',
      '    time.sleep(0.01)',
      '    with guard: inside -= 1',
      '    start_response("200 OK", []); return [b"ok"]',
      'app = SerialisedApp(slow_app)',
      'threads = [threading.Thread(target=app, args=({}, lambda *a: None)) for _ in range(20)]',
      '[t.start() for t in threads]; [t.join() for t in threads]',
      'print(most)',
    ].join('\n');
    const most = execFileSync(venvPython, ['-c', probe], { cwd: repoRoot, encoding: 'utf8' }).trim();
    expect(most).toBe('1');
  });
});

describe('our launcher (SQS long polls)', () => {
  it('serves other callers while an SQS long poll waits, and still hands the poll a message sent meanwhile', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('long-poll') }));
    try {
      let pollSettled = false;
      const poll = sqs
        .send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }))
        .finally(() => {
          pollSettled = true;
        });

      // Behind a lock held for the whole wait, this would only be answered once the poll gave up.
      await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
      expect(pollSettled).toBe(false);
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'while you waited' }));

      const { Messages = [] } = await poll;
      expect(Messages.map((message) => message.Body)).toEqual(['while you waited']);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    }
  });

  it('answers an empty long poll with no messages once the wait is up, not before', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('long-poll-empty') }));
    try {
      const started = performance.now();
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      // A lower bound only: a slow machine makes this longer, never shorter.
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(Messages ?? []).toEqual([]);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    }
  });

  it('does the same for the query (form-encoded) protocol that older SDKs and CLIs speak', async () => {
    const endpoint = process.env.TM_TEST_EMULATOR_ENDPOINT ?? '';
    // The emulator reads the service and region from the credential scope; it checks no signature.
    const sqsQuery = (params: Record<string, string>) =>
      fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20261127/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: new URLSearchParams(params),
      }).then((response) => response.text());
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('long-poll-query') }));
    try {
      let pollSettled = false;
      const poll = sqsQuery({ Action: 'ReceiveMessage', QueueUrl, WaitTimeSeconds: '20' }).finally(() => {
        pollSettled = true;
      });
      await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
      expect(pollSettled).toBe(false);
      await sqsQuery({ Action: 'SendMessage', QueueUrl, MessageBody: 'by query' });
      expect(await poll).toContain('<Body>by query</Body>');
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    }
  });
});

describe('our launcher (transactions undone item by item)', () => {
  async function itemOf(pk: string, sk = 'ROUTE') {
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: tableName, Key: { PK: { S: pk }, SK: { S: sk } }, ConsistentRead: true }),
    );
    return Item;
  }

  it('leaves no item and no stream record behind when a transaction is cancelled after writing part of it', async () => {
    const [fresh, updated, deleted, guard] = ['fresh', 'updated', 'deleted', 'guard'].map((name) => uniqueName(`undo-${name}`)) as [
      string,
      string,
      string,
      string,
    ];
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item(updated, { v: { S: 'before' } }) }));
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item(deleted, { v: { S: 'kept' } }) }));
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item(guard, { v: { S: 'present' } }) }));
    const recordsBefore = (await streamRecords(streams, streamArn)).length;

    // moto applies the first three, then fails the condition on the last, and must undo them.
    const cancelled = await dynamodb
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: tableName, Item: item(fresh, { v: { S: 'new' } }) } },
            {
              Update: {
                TableName: tableName,
                Key: { PK: { S: updated }, SK: { S: 'ROUTE' } },
                UpdateExpression: 'SET v = :after',
                ExpressionAttributeValues: { ':after': { S: 'after' } },
              },
            },
            { Delete: { TableName: tableName, Key: { PK: { S: deleted }, SK: { S: 'ROUTE' } } } },
            {
              Put: {
                TableName: tableName,
                Item: item(guard, { v: { S: 'replaced' } }),
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
          ],
        }),
      )
      .catch((error: unknown) => error);

    expect(cancelled).toMatchObject({
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });
    expect(await itemOf(fresh)).toBeUndefined();
    expect((await itemOf(updated))?.v).toEqual({ S: 'before' });
    expect((await itemOf(deleted))?.v).toEqual({ S: 'kept' });
    expect((await itemOf(guard))?.v).toEqual({ S: 'present' });
    expect((await streamRecords(streams, streamArn)).length).toBe(recordsBefore);

    // And a transaction that succeeds afterwards writes, and streams, as usual.
    await dynamodb.send(
      new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: tableName, Item: item(fresh, { v: { S: 'new' } }) } }] }),
    );
    expect((await itemOf(fresh))?.v).toEqual({ S: 'new' });
    expect((await streamRecordsFor(fresh)).map((record) => record.eventName)).toEqual(['INSERT']);
  });
});

describe('DynamoDB and Streams differences', () => {
  it('writes a stream record even for a put that changes nothing (AWS writes none)', async () => {
    const pk = uniqueName('noop');
    const put = new PutItemCommand({ TableName: tableName, Item: item(pk, { v: { S: 'same' } }) });
    await dynamodb.send(put);
    await dynamodb.send(put);
    const records = await streamRecordsFor(pk);
    expect(records.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY']);
  });

  it('ignores ClientRequestToken: a repeated transaction is applied twice (AWS applies it once)', async () => {
    const pk = uniqueName('token');
    const transaction = new TransactWriteItemsCommand({
      ClientRequestToken: 'same-token-twice',
      TransactItems: [
        {
          Update: {
            TableName: tableName,
            Key: { PK: { S: pk }, SK: { S: 'ROUTE' } },
            UpdateExpression: 'ADD #count :one',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
      ],
    });
    await dynamodb.send(transaction);
    await dynamodb.send(transaction);
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: tableName, Key: { PK: { S: pk }, SK: { S: 'ROUTE' } }, ConsistentRead: true }),
    );
    expect(Item?.count?.N).toBe('2');
  });

  it('shows a write in a global secondary index at once (DynamoDB indexes are eventually consistent)', async () => {
    const partition = uniqueName('gsi');
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: item(uniqueName('gsi-item'), { GSI1PK: { S: partition }, GSI1SK: { S: 'a' } }),
      }),
    );
    const { Items } = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'ByTenant',
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: partition } },
      }),
    );
    expect(Items).toHaveLength(1);
  });

  it('serves each table stream from exactly one shard', async () => {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    expect(StreamDescription?.Shards).toHaveLength(1);
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.StreamSpecification?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
  });
});

describe('EventBridge differences', () => {
  it('answers TestEventPattern without a result (AWS evaluates the pattern)', async () => {
    const result = await events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ source: ['traffic-manager'] }),
        Event: JSON.stringify({
          id: '1',
          account: '000000000000',
          source: 'somebody-else',
          time: '2026-11-27T10:00:00Z',
          region: 'us-east-1',
          resources: [],
          'detail-type': 'Route Updated',
          detail: {},
        }),
      }),
    );
    expect(result.Result).toBeUndefined();
  });

  it('delivers to the targets of a DISABLED rule and accepts but ignores target retry policies', async () => {
    const queueName = uniqueName('contract-disabled');
    const ruleName = uniqueName('contract-disabled');
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const source = uniqueName('contract-source');
    try {
      await events.send(
        new PutRuleCommand({
          Name: ruleName,
          EventBusName: localNames.eventBusName,
          EventPattern: JSON.stringify({ source: [source] }),
          State: 'DISABLED',
        }),
      );
      await events.send(
        new PutTargetsCommand({
          Rule: ruleName,
          EventBusName: localNames.eventBusName,
          Targets: [
            { Id: 'queue', Arn: Attributes?.QueueArn, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } },
          ],
        }),
      );
      const { Targets } = await events.send(
        new ListTargetsByRuleCommand({ Rule: ruleName, EventBusName: localNames.eventBusName }),
      );
      expect(Targets?.[0]?.RetryPolicy?.MaximumRetryAttempts).toBe(0);

      await events.send(
        new PutEventsCommand({
          Entries: [{ Source: source, DetailType: 'probe', Detail: '{}', EventBusName: localNames.eventBusName }],
        }),
      );
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      expect(Messages).toHaveLength(1);
    } finally {
      await events.send(new RemoveTargetsCommand({ Rule: ruleName, EventBusName: localNames.eventBusName, Ids: ['queue'] }));
      await events.send(new DeleteRuleCommand({ Name: ruleName, EventBusName: localNames.eventBusName }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    }
  });
});
