/**
 * `Observability`: the dashboard and alarms of the control plane. Per-endpoint Lambda
 * errors and duration, API Gateway 4xx/5xx and latency, DynamoDB throttles; alarms on the
 * API 5xx rate, on errors of each function and on throttled DynamoDB requests.
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Stats,
  TextWidget,
  TreatMissingData,
  type IAlarmAction,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Operation, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { ServiceFunction } from './service-function.ts';

/** The DynamoDB operations the functions call: what the throttle alarm watches. */
export const watchedTableOperations = [
  Operation.GET_ITEM,
  Operation.QUERY,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
  Operation.TRANSACT_GET_ITEMS,
  Operation.BATCH_GET_ITEM,
] as const;

export interface ObservabilityProps {
  /** Prefix of the dashboard name, e.g. the stage. */
  stageName: string;
  api: RestApi;
  /** The functions to watch, by endpoint id. */
  functions: ReadonlyMap<string, ServiceFunction>;
  table: ITable;
  /**
   * Where alarms notify (an SNS topic action, for instance).
   * @default - no action; the alarms show on the dashboard and in the console
   */
  alarmActions?: readonly IAlarmAction[];
  /**
   * Share of API requests answered with 5xx, over five minutes, that raises the alarm.
   * @default 0.01 (1 %)
   */
  api5xxRateThreshold?: number;
}

export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly api5xxRateAlarm: Alarm;
  readonly functionErrorAlarms: ReadonlyMap<string, Alarm>;
  readonly tableThrottleAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const { api, table } = props;

    // The Average of 5XXError is the share of requests that failed with 5xx.
    const api5xxRate = api.metricServerError({ period, statistic: Stats.AVERAGE });
    this.api5xxRateAlarm = new Alarm(this, 'Api5xxRate', {
      alarmDescription: 'More than the threshold share of API requests answered 5xx over 5 minutes.',
      metric: api5xxRate,
      threshold: props.api5xxRateThreshold ?? 0.01,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const errorAlarms = new Map<string, Alarm>();
    for (const [endpointId, fn] of props.functions) {
      errorAlarms.set(
        endpointId,
        new Alarm(this, `${endpointId}Errors`, {
          alarmDescription: `The ${endpointId} function failed (unhandled errors or timeouts).`,
          metric: fn.metricErrors({ period, statistic: Stats.SUM }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.functionErrorAlarms = errorAlarms;

    const tableThrottles = table.metricThrottledRequestsForOperations({
      operations: [...watchedTableOperations],
      period,
      label: 'Throttled requests',
    });
    this.tableThrottleAlarm = new Alarm(this, 'TableThrottles', {
      alarmDescription: 'DynamoDB throttled requests on the routes table.',
      metric: tableThrottles,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [this.api5xxRateAlarm, ...errorAlarms.values(), this.tableThrottleAlarm]) {
      for (const action of props.alarmActions ?? []) alarm.addAlarmAction(action);
    }

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({ markdown: `# traffic-manager (${props.stageName})`, width: 24, height: 1 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests, 4xx and 5xx',
        left: [
          api.metricCount({ period, statistic: Stats.SUM }),
          api.metricClientError({ period, statistic: Stats.SUM }),
          api.metricServerError({ period, statistic: Stats.SUM }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency',
        left: [
          api.metricLatency({ period, statistic: Stats.p(50) }),
          api.metricLatency({ period, statistic: Stats.p(99) }),
          api.metricIntegrationLatency({ period, statistic: Stats.p(99) }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors by endpoint',
        left: [...props.functions].map(([endpointId, fn]) =>
          fn.metricErrors({ period, statistic: Stats.SUM, label: endpointId }),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Lambda duration p99 by endpoint',
        left: [...props.functions].map(([endpointId, fn]) =>
          fn.metricDuration({ period, statistic: Stats.p(99), label: endpointId }),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'DynamoDB throttled requests',
        left: [tableThrottles],
        width: 12,
      }),
      new GraphWidget({
        title: 'Lambda throttles by endpoint',
        left: [...props.functions].map(([endpointId, fn]) =>
          fn.metricThrottles({ period, statistic: Stats.SUM, label: endpointId }),
        ),
        width: 12,
      }),
    );
  }
}
