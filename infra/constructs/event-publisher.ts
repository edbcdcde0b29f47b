/**
 * `EventPublisher`: the outbox relay and the project's own consumer of its events
 * (ARCHITECTURE.md, "Events: the table is the outbox"; docs/events.md).
 *
 * - The publisher function reads the table's stream through an event source mapping that
 *   only invokes it for INSERTs of revision items (`SK` beginning `REV#`), reports partial
 *   batch failures (the handler returns `batchItemFailures` through Powertools), bisects
 *   failing batches, retries until a record is older than the mapping's maximum age and
 *   sends what it gives up on to an encrypted dead-letter queue, which raises an alarm as
 *   soon as anything is in it.
 * - The `route-changes` queue receives every route event through a rule on the bus, for
 *   downstream consumers; it has a dead-letter queue of its own (for messages its
 *   consumers fail, and for events the rule could not deliver), with an alarm.
 */
import path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, TreatMissingData, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { publisherDeadLetter, publisherStreamMapping } from '../../shared/events/stream-mapping.ts';
import { routeChanges } from '../resources.ts';
import type { StageSettings } from '../stage.ts';
import { threeOfFive, type StageAlarms } from './alarms.ts';
import { repoRoot } from './endpoint-api.ts';
import { ServiceFunction } from './service-function.ts';

/** The publisher's handler module, relative to the repository root. */
export const publisherEntry = 'functions/events/publish-route-events.ts';
/** The operator's replay: a range of a tenant's history published again from the revisions. */
const replayEntry = 'functions/events/replay-route-events.ts';

/**
 * The event source mapping's settings in CDK's terms, from the one definition the local
 * stack also reads (shared/events/stream-mapping.ts; asserted by test/infra/event-publisher.test.ts).
 */
export const publisherMapping = {
  batchSize: publisherStreamMapping.batchSize,
  maxBatchingWindow: Duration.seconds(publisherStreamMapping.maxBatchingWindowSeconds),
  retryAttempts: publisherStreamMapping.retryAttempts,
  maxRecordAge: Duration.seconds(publisherStreamMapping.maxRecordAgeSeconds),
  parallelizationFactor: publisherStreamMapping.parallelizationFactor,
  bisectBatchOnError: publisherStreamMapping.bisectBatchOnError,
  reportBatchItemFailures: publisherStreamMapping.reportBatchItemFailures,
} as const;

/** Only INSERTs of revision items invoke the publisher (the pattern in Lambda's JSON syntax). */
const publisherFilter = publisherStreamMapping.filter;

interface EventPublisherProps {
  stage: StageSettings;
  table: ITable;
  eventBus: IEventBus;
  /** Where the publisher's alarms are made: named, described and wired like the stage's others. */
  alarms: StageAlarms;
  /**
   * The handler module, relative to the repository root.
   * @default publisherEntry
   */
  entry?: string;
}

export class EventPublisher extends Construct {
  readonly function: ServiceFunction;
  /** Invoked by an operator (`aws lambda invoke`), never by the API: see docs/runbook.md. */
  readonly replayFunction: ServiceFunction;
  /** Where the event source mapping sends records it gives up on. */
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
  /** The oldest unpublished record is older than a few minutes: events are lagging. */
  readonly iteratorAgeAlarm: Alarm;
  /** The shipped consumer: every route event, for downstream systems. */
  readonly routeChangesQueue: Queue;
  readonly routeChangesDeadLetterQueue: Queue;
  readonly routeChangesDeadLetterAlarm: Alarm;
  readonly routeChangesRule: Rule;

  constructor(scope: Construct, id: string, props: EventPublisherProps) {
    super(scope, id);
    const { stage, table, eventBus } = props;
    if (table.tableStreamArn === undefined) throw new Error('EventPublisher needs a table with a stream');

    this.function = new ServiceFunction(this, 'Function', {
      entry: path.resolve(repoRoot, props.entry ?? publisherEntry),
      description: 'Publishes route events: the routes table stream (revision inserts) to the event bus',
      // Bounded PutEvents retries with backoff for a batch of up to 100 records: the stage's
      // publisher class (infra/stage.ts) says how long, how large, how many at once.
      timeout: Duration.seconds(stage.functionClasses.publisher.timeoutSeconds),
      memorySize: stage.functionClasses.publisher.memorySize,
      ...(stage.functionClasses.publisher.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: stage.functionClasses.publisher.reservedConcurrency }),
      logRetention: stage.logRetention,
      logRemovalPolicy: stage.removalPolicy,
      logLevel: stage.logLevel,
    })
      // No table grant: the event source mapping grants the stream reads, nothing else.
      .bindBus(eventBus, 'publish');

    this.replayFunction = new ServiceFunction(this, 'ReplayFunction', {
      entry: path.resolve(repoRoot, replayEntry),
      description: "Publishes a range of a tenant's history again from the revisions (operator-invoked)",
      // A long range is many pages of revisions and PutEvents calls; an operator waits for it.
      timeout: Duration.minutes(15),
      memorySize: stage.functionClasses.publisher.memorySize,
      logRetention: stage.logRetention,
      logRemovalPolicy: stage.removalPolicy,
      logLevel: stage.logLevel,
    })
      .bindTable(table, 'read')
      .bindBus(eventBus, 'publish');

    if (this.function.role !== undefined) {
      Validations.of(this.function.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'dynamodb:ListStreams (granted by the DynamoDB event source) and the X-Ray actions support no resource-level permissions; the stream reads are on the table stream ARN only.',
      });
    }
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(publisherDeadLetter.retentionDays),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "It is a dead-letter queue: the event source mapping's on-failure destination (SqsDlq), which cdk-nag does not recognise as one.",
    });
    // The mapping invokes the `live` alias, so a deploy shifts the publisher like the API.
    this.function.liveAlias.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition[publisherStreamMapping.startingPosition],
        ...publisherMapping,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [FilterCriteria.filter({ ...publisherFilter })],
      }),
    );
    this.iteratorAgeAlarm = props.alarms.create(this, 'IteratorAgeAlarm', {
      what: 'PublisherIteratorAge',
      runbookAnchor: 'publisheriteratorage',
      summary: 'Route events lag: the publisher is behind the table stream by over 5 minutes, in 3 of 5 minutes.',
      metric: this.function.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 5 * 60 * 1000,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...threeOfFive,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = visibleMessagesAlarm(props.alarms, this, 'DeadLetterAlarm', this.deadLetterQueue, {
      what: 'PublisherDeadLetters',
      runbookAnchor: 'publisherdeadletters',
      summary: 'Route events were given up on: stream records are in the publisher dead-letter queue.',
    });

    this.routeChangesDeadLetterQueue = new Queue(this, 'RouteChangesDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(routeChanges.deadLetterRetentionDays),
    });
    this.routeChangesQueue = new Queue(this, 'RouteChangesQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(routeChanges.queueRetentionDays),
      visibilityTimeout: Duration.seconds(routeChanges.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.routeChangesDeadLetterQueue, maxReceiveCount: routeChanges.maxReceiveCount },
    });
    this.routeChangesRule = new Rule(this, 'RouteChangesRule', {
      eventBus,
      description: 'Every traffic-manager route event to the route-changes queue',
      eventPattern: { source: [...routeChanges.pattern.source] },
      targets: [
        new SqsQueue(this.routeChangesQueue, {
          deadLetterQueue: this.routeChangesDeadLetterQueue,
          retryAttempts: 20,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
    this.routeChangesDeadLetterAlarm = visibleMessagesAlarm(props.alarms, this, 'RouteChangesDeadLetterAlarm', this.routeChangesDeadLetterQueue, {
      what: 'RouteChangesDeadLetters',
      runbookAnchor: 'routechangesdeadletters',
      summary: 'Route events were not delivered to, or not consumed from, the route-changes queue.',
    });
  }
}

/**
 * Anything in a dead-letter queue: a message stays until redriven, so two minutes in a row
 * is no flap.
 */
function visibleMessagesAlarm(
  alarms: StageAlarms,
  scope: Construct,
  id: string,
  queue: Queue,
  identity: { what: string; runbookAnchor: string; summary: string },
): Alarm {
  return alarms.create(scope, id, {
    ...identity,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
