/**
 * The one stack of a stage (ARCHITECTURE.md, "Deploying"): the data (table, event bus,
 * archive), the functions and the REST API built from the endpoint table, the event
 * publisher, the alarms and dashboard, and how a deploy shifts traffic to new versions.
 * Outside dev the stack is termination-protected and the data, dead-letter queues and logs
 * are retained (./constructs/route-data.ts).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import type { CfnQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { endpointList, type EndpointDefinition } from '../shared/http/endpoints.ts';
import { StageAlarms } from './constructs/alarms.ts';
import { EndpointApi } from './constructs/endpoint-api.ts';
import { EventPublisher } from './constructs/event-publisher.ts';
import { Observability } from './constructs/observability.ts';
import { RouteData } from './constructs/route-data.ts';
import { TrafficShifting, type ShiftedFunction } from './constructs/traffic-shifting.ts';
import type { AuthSettings, StageSettings } from './stage.ts';

interface TrafficManagerStackProps extends StackProps {
  stage: StageSettings;
  auth: AuthSettings;
  /**
   * The endpoints to deploy.
   * @default endpointList - every endpoint of the service
   */
  endpoints?: readonly EndpointDefinition[];
  /**
   * Whether token-protected methods also require an API key, so usage-plan tiers apply.
   * @default false
   */
  apiKeyRequired?: boolean;
}

export class TrafficManagerStack extends Stack {
  readonly data: RouteData;
  readonly endpointApi: EndpointApi;
  readonly alarms: StageAlarms;
  readonly observability: Observability;
  readonly eventPublisher: EventPublisher;
  readonly trafficShifting: TrafficShifting;
  /** The customer-managed key from `-c kmsKey`, if any. */
  readonly kmsKey?: IKey;

  constructor(scope: Construct, id: string, props: TrafficManagerStackProps) {
    super(scope, id, { ...props, terminationProtection: props.stage.protect });
    const { stage } = props;
    const kmsKey = stage.kmsKeyArn === undefined ? undefined : Key.fromKeyArn(this, 'KmsKey', stage.kmsKeyArn);
    if (kmsKey !== undefined) this.kmsKey = kmsKey;

    this.data = new RouteData(this, 'Data', { stage, ...(kmsKey === undefined ? {} : { encryptionKey: kmsKey }) });
    const { table, eventBus } = this.data;

    const endpoints = props.endpoints ?? endpointList;
    this.endpointApi = new EndpointApi(this, 'Http', {
      stage,
      endpoints,
      table,
      eventBus,
      auth: props.auth,
      apiKeyRequired: props.apiKeyRequired ?? false,
      ...(kmsKey === undefined ? {} : { logEncryptionKey: kmsKey }),
    });

    this.alarms = new StageAlarms(this, 'Alarms', { stage, ...(kmsKey === undefined ? {} : { encryptionKey: kmsKey }) });
    this.eventPublisher = new EventPublisher(this, 'Events', { stage, table, eventBus, alarms: this.alarms });
    this.hardenPublisher(stage, kmsKey);

    this.observability = new Observability(this, 'Observability', {
      stage,
      api: this.endpointApi.api,
      endpoints,
      functions: this.endpointApi.functions,
      functionClasses: this.endpointApi.functionClasses,
      publisher: this.eventPublisher,
      table,
      alarms: this.alarms,
    });

    this.trafficShifting = new TrafficShifting(this, 'Deployments', {
      stage,
      functions: this.shiftedFunctions(),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.endpointApi.api.url });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'RouteChangesQueueUrl', { value: this.eventPublisher.routeChangesQueue.queueUrl });
    new CfnOutput(this, 'RouteChangesQueueArn', { value: this.eventPublisher.routeChangesQueue.queueArn });
    new CfnOutput(this, 'ReplayFunctionName', { value: this.eventPublisher.replayFunction.functionName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
  }

  /**
   * Each function with the alarms that roll its deploy back: its own errors, its class's
   * throttles, the API's 5xx rate, and for the resolve class its latency and stale answers.
   */
  private shiftedFunctions(): ShiftedFunction[] {
    const o = this.observability;
    const shifted: ShiftedFunction[] = [];
    for (const [id, fn] of this.endpointApi.functions) {
      const functionClass = this.endpointApi.functionClasses.get(id);
      const alarms: (IAlarm | undefined)[] = [
        o.functionErrorAlarms.get(id),
        functionClass === undefined ? undefined : o.classThrottleAlarms.get(functionClass),
        o.api5xxRateAlarm,
        ...(functionClass === 'resolve' ? [o.resolveLatencyAlarm, o.staleResolveAlarm] : []),
      ];
      shifted.push({ id, fn, alarms: alarms.filter((alarm): alarm is IAlarm => alarm !== undefined) });
    }
    const publisherThrottles = o.classThrottleAlarms.get('publisher');
    shifted.push({
      id: 'publisher',
      fn: this.eventPublisher.function,
      alarms: [o.publisherErrorsAlarm, this.eventPublisher.iteratorAgeAlarm, ...(publisherThrottles === undefined ? [] : [publisherThrottles])],
    });
    // Invoked by an operator, who sees its errors in its answer; it runs the publisher's code
    // (shared/events/publisher.ts), so the publisher's errors are what a bad deploy shows.
    shifted.push({ id: 'replay', fn: this.eventPublisher.replayFunction, alarms: [o.publisherErrorsAlarm] });
    return shifted;
  }

  /**
   * What the stage decides about the publisher's queues and logs, applied from here so that
   * the event publisher construct keeps to the events themselves: dead-letter queues and
   * the route-changes queue outlive a prod stack (they hold events nobody else has), and a
   * customer-managed key, when given, encrypts them and the publisher's logs.
   */
  private hardenPublisher(stage: StageSettings, kmsKey: IKey | undefined): void {
    const publisher = this.eventPublisher;
    const queues: Queue[] = [publisher.deadLetterQueue, publisher.routeChangesQueue, publisher.routeChangesDeadLetterQueue];
    for (const queue of queues) queue.applyRemovalPolicy(stage.removalPolicy);
    publisher.function.functionLogGroup.applyRemovalPolicy(stage.removalPolicy);
    publisher.replayFunction.functionLogGroup.applyRemovalPolicy(stage.removalPolicy);
    if (kmsKey === undefined) return;

    for (const queue of queues) {
      const cfn = queue.node.defaultChild as CfnQueue;
      cfn.sqsManagedSseEnabled = undefined;
      cfn.kmsMasterKeyId = kmsKey.keyArn;
    }
    for (const fn of [publisher.function, publisher.replayFunction]) {
      (fn.functionLogGroup.node.defaultChild as CfnLogGroup).kmsKeyId = kmsKey.keyArn;
    }
    // Sending to a KMS-encrypted queue (the mapping's on-failure destination) needs the key.
    publisher.function.addToRolePolicy(
      new PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [kmsKey.keyArn] }),
    );
  }
}
