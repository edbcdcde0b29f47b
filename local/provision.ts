/**
 * Provisions, in the emulator, the stateful resources the CDK stack declares
 * (infra/resources.ts): the table with its stream, index and TTL, the event bus and its
 * archive, the publisher's on-failure destination (a dead-letter queue, from the one mapping
 * definition in shared/events/stream-mapping.ts), and the local tap queue with the rule
 * that feeds it. Safe to run twice.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { eventBus, localNames, localTap, routeChanges, routesTable } from '#infra/resources';
import { publisherDeadLetter } from '#shared/events/stream-mapping';
import { emulatorClientConfig } from './emulator.ts';

interface ProvisionOptions {
  endpoint: string;
  region: string;
  tableName: string;
  eventBusName: string;
  archiveName: string;
}

interface Provisioned {
  TableName: string;
  TableStreamArn: string;
  EventBusName: string;
  EventBusArn: string;
  TapQueueUrl: string;
  TapQueueArn: string;
  RouteChangesQueueUrl: string;
  RouteChangesQueueArn: string;
  /** Where the stream poller sends the records it gives up on (the mapping's on-failure destination). */
  PublisherDeadLetterQueueUrl: string;
  PublisherDeadLetterQueueArn: string;
}

/** The CreateTable input for the routes table: what the CDK table declares. */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, globalSecondaryIndexes, streamViewType } = routesTable;
  const attributes = new Map<string, 'S' | 'N'>();
  for (const key of [partitionKey, sortKey, ...globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    attributes.set(key.name, key.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: partitionKey.name, KeyType: 'HASH' },
      { AttributeName: sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: streamViewType },
  };
}

export async function provision(options: ProvisionOptions): Promise<Provisioned> {
  const clientConfig = emulatorClientConfig(options.endpoint, options.region);
  const dynamodb = new DynamoDBClient(clientConfig);
  const events = new EventBridgeClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  try {
    const TableStreamArn = await ensureTable(dynamodb, options.tableName);
    const EventBusArn = await ensureBus(events, options);
    const tap = await ensureTap(events, sqs, options.eventBusName);
    const changes = await ensureRouteChanges(events, sqs, options.eventBusName);
    const publisherDlq = await ensureQueue(sqs, publisherDeadLetter.localQueueName, {
      MessageRetentionPeriod: String(publisherDeadLetter.retentionDays * 24 * 60 * 60),
    });
    return {
      TableName: options.tableName,
      TableStreamArn,
      EventBusName: options.eventBusName,
      EventBusArn,
      TapQueueUrl: tap.url,
      TapQueueArn: tap.arn,
      RouteChangesQueueUrl: changes.url,
      RouteChangesQueueArn: changes.arn,
      PublisherDeadLetterQueueUrl: publisherDlq.url,
      PublisherDeadLetterQueueArn: publisherDlq.arn,
    };
  } finally {
    dynamodb.destroy();
    events.destroy();
    sqs.destroy();
  }
}

async function ensureTable(dynamodb: DynamoDBClient, tableName: string): Promise<string> {
  try {
    const created = await dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: routesTable.timeToLiveAttribute, Enabled: true },
      }),
    );
    return created.TableDescription?.LatestStreamArn ?? '';
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const described = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return described.Table?.LatestStreamArn ?? '';
  }
}

async function ensureBus(events: EventBridgeClient, options: ProvisionOptions): Promise<string> {
  let busArn: string;
  try {
    const created = await events.send(new CreateEventBusCommand({ Name: options.eventBusName }));
    busArn = created.EventBusArn ?? '';
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    busArn = (await events.send(new DescribeEventBusCommand({ Name: options.eventBusName }))).Arn ?? '';
  }
  try {
    await events.send(
      new CreateArchiveCommand({
        ArchiveName: options.archiveName,
        EventSourceArn: busArn,
        EventPattern: JSON.stringify(eventBus.archivePattern),
        RetentionDays: eventBus.archiveRetentionDays,
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
  return busArn;
}

/** The route-changes consumer of infra/constructs/event-publisher.ts: queue, dead-letter queue, rule. */
async function ensureRouteChanges(
  events: EventBridgeClient,
  sqs: SQSClient,
  eventBusName: string,
): Promise<{ url: string; arn: string }> {
  const day = 24 * 60 * 60;
  const deadLetter = await ensureQueue(sqs, localNames.routeChangesDeadLetterQueueName, {
    MessageRetentionPeriod: String(routeChanges.deadLetterRetentionDays * day),
  });
  const queue = await ensureQueue(sqs, localNames.routeChangesQueueName, {
    MessageRetentionPeriod: String(routeChanges.queueRetentionDays * day),
    VisibilityTimeout: String(routeChanges.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: routeChanges.maxReceiveCount }),
  });
  await subscribeQueue(events, sqs, {
    eventBusName,
    ruleName: localNames.routeChangesRuleName,
    pattern: routeChanges.pattern,
    queue,
    target: { Id: 'route-changes', Arn: queue.arn, DeadLetterConfig: { Arn: deadLetter.arn } },
  });
  return queue;
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string> = {},
): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = QueueUrl ?? '';
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: Attributes?.QueueArn ?? '' };
}

/**
 * A rule on the bus with `pattern`, the queue policy that lets it send to the queue (as the
 * CDK SqsQueue target writes it), and the queue as its target.
 */
async function subscribeQueue(
  events: EventBridgeClient,
  sqs: SQSClient,
  subscription: {
    eventBusName: string;
    ruleName: string;
    pattern: unknown;
    queue: { url: string; arn: string };
    target: NonNullable<ConstructorParameters<typeof PutTargetsCommand>[0]['Targets']>[number];
  },
): Promise<void> {
  const { eventBusName, ruleName, queue } = subscription;
  const rule = await events.send(
    new PutRuleCommand({ Name: ruleName, EventBusName: eventBusName, EventPattern: JSON.stringify(subscription.pattern), State: 'ENABLED' }),
  );
  await allowRuleToSend(sqs, queue, rule.RuleArn);
  await events.send(new PutTargetsCommand({ Rule: ruleName, EventBusName: eventBusName, Targets: [subscription.target] }));
}

/** The queue policy that lets one rule send to the queue. */
async function allowRuleToSend(sqs: SQSClient, queue: { url: string; arn: string }, ruleArn: string | undefined): Promise<void> {
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queue.url,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queue.arn,
              Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
            },
          ],
        }),
      },
    }),
  );
}

async function ensureTap(
  events: EventBridgeClient,
  sqs: SQSClient,
  eventBusName: string,
): Promise<{ url: string; arn: string }> {
  const queue = await ensureQueue(sqs, localTap.queueName);
  await subscribeQueue(events, sqs, {
    eventBusName,
    ruleName: localTap.ruleName,
    pattern: localTap.pattern,
    queue,
    target: { Id: 'tap', Arn: queue.arn },
  });
  return queue;
}
