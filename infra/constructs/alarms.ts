/**
 * `StageAlarms`: where the stage's alarms go and how they are shaped. Every alarm of the
 * stage is made here, so every one gets
 * - a stable name, `TrafficManager-<stage>-<what>`, that people and CodeDeploy can refer to;
 * - a description that ends with a link to its section of docs/runbook.md;
 * - an explicit M-of-N (datapoints to alarm of evaluation periods) and missing-data rule;
 * - the stage's encrypted SNS topic (and any existing topics from context) for ALARM and OK.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  type ComparisonOperator,
  type IAlarmAction,
  type IMetric,
  type TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { stageResourceName, type StageSettings } from '../stage.ts';

/** `TrafficManager-<stage>-<what>`: the name of one alarm of a stage. */
function alarmName(stageName: string, what: string): string {
  return `${stageResourceName(stageName)}-${what}`;
}

/** How many datapoints, of how many periods, and what a missing datapoint counts as. */
interface AlarmShape {
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: TreatMissingData;
}

/** What every alarm says about itself. */
interface AlarmIdentity {
  /** The name's last part, e.g. `Api5xxRate`. */
  what: string;
  /** The heading anchor of its section in docs/runbook.md, e.g. `api5xxrate`. */
  runbookAnchor: string;
  /** One sentence: what state of the world the alarm means. */
  summary: string;
}

interface StageAlarmSpec extends AlarmIdentity, AlarmShape {
  metric: IMetric;
  threshold: number;
  comparisonOperator: ComparisonOperator;
}

interface StageAlarmsProps {
  stage: StageSettings;
  /**
   * The key for the alarm topic.
   * @default - a key of the topic's own, with rotation, that CloudWatch may use
   */
  encryptionKey?: IKey;
}

/** Three of five one-minute periods: fires within five minutes, ignores one bad minute. */
export const threeOfFive: Omit<AlarmShape, 'treatMissingData'> = { evaluationPeriods: 5, datapointsToAlarm: 3 };

export class StageAlarms extends Construct {
  readonly topic: Topic;
  /** The topic's key: CloudWatch must be able to use it, so an AWS-managed key will not do. */
  readonly topicKey: IKey;
  private readonly stage: StageSettings;
  private readonly actions: IAlarmAction[];
  private readonly made: Alarm[] = [];

  constructor(scope: Construct, id: string, props: StageAlarmsProps) {
    super(scope, id);
    this.stage = props.stage;
    if (props.encryptionKey === undefined) {
      const key = new Key(this, 'TopicKey', {
        description: `Encrypts the traffic-manager ${props.stage.name} alarm topic`,
        enableKeyRotation: true,
        removalPolicy: props.stage.removalPolicy,
        ...(props.stage.removalPolicy === RemovalPolicy.DESTROY ? { pendingWindow: Duration.days(7) } : {}),
      });
      // Alarms publish as CloudWatch, which needs the key to encrypt the message.
      key.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
      this.topicKey = key;
    } else {
      this.topicKey = props.encryptionKey;
    }
    this.topic = new Topic(this, 'Topic', {
      topicName: alarmName(props.stage.name, 'alarms'),
      displayName: `traffic-manager ${props.stage.name} alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    for (const email of props.stage.alarmSubscriptions.emails) {
      this.topic.addSubscription(new EmailSubscription(email));
    }
    this.actions = [
      new SnsAction(this.topic),
      ...props.stage.alarmSubscriptions.topicArns.map(
        (arn, index) => new SnsAction(Topic.fromTopicArn(this, `ExtraTopic${index}`, arn)),
      ),
    ];
  }

  /** Every alarm made so far, in order. */
  get all(): readonly Alarm[] {
    return this.made;
  }

  /** The description of an alarm: its meaning, then the link to its runbook section. */
  describe(identity: AlarmIdentity): string {
    return `${identity.summary} Runbook: ${this.stage.runbookUrl}#${identity.runbookAnchor}`;
  }

  /** A new alarm of the stage, named, described, shaped and wired. */
  create(scope: Construct, id: string, spec: StageAlarmSpec): Alarm {
    const alarm = new Alarm(scope, id, {
      alarmName: alarmName(this.stage.name, spec.what),
      alarmDescription: this.describe(spec),
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparisonOperator,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm,
      treatMissingData: spec.treatMissingData,
    });
    return this.wire(alarm);
  }

  private wire(alarm: Alarm): Alarm {
    alarm.addAlarmAction(...this.actions);
    alarm.addOkAction(...this.actions);
    this.made.push(alarm);
    return alarm;
  }
}
