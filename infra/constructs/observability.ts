/**
 * `Observability`: the stage's alarms (through {@link StageAlarms}: named, described with a
 * runbook link, M-of-N, wired to the alarm topic) and its dashboard `TrafficManager-<stage>`,
 * whose rows read top-down: API, resolve, writes, events, DynamoDB, Lambda per function
 * class, alarm status. Custom metric names come from shared/metric-names.ts only.
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
  type Alarm,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Operation, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { endpoints as endpointTable, type EndpointDefinition } from '../../shared/http/endpoints.ts';
import { metricNames } from '../../shared/metric-names.ts';
import { functionClasses, type FunctionClass } from '../function-classes.ts';
import { stageResourceName, type StageSettings } from '../stage.ts';
import { threeOfFive, type StageAlarms } from './alarms.ts';
import { throttledRequestsMetric } from './endpoint-api.ts';
import type { EventPublisher } from './event-publisher.ts';
import { metricsNamespace, powertoolsServiceName, type ServiceFunction } from './service-function.ts';

/** The DynamoDB operations the functions call: what the throttle alarm watches. */
const watchedTableOperations = [
  Operation.GET_ITEM,
  Operation.QUERY,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
  Operation.TRANSACT_GET_ITEMS,
  Operation.BATCH_GET_ITEM,
] as const;

/** Thresholds of the alarms, in one place (docs/runbook.md explains each). */
const alarmThresholds = {
  /** Share of requests answered 5xx in a minute. */
  api5xxRate: 0.01,
  /** Percent of requests answered 429 by API Gateway in a minute. */
  throttledPercent: 5,
  /** Resolve's p99 latency at API Gateway, milliseconds. */
  resolveP99Ms: 500,
  /** Stale (stale-if-error) resolve answers in a minute. */
  staleResolveAnswers: 1,
  /** Share of a function's reserved concurrency in use. */
  concurrencyShare: 0.8,
  /** Oldest message in a dead-letter queue, seconds: nobody has redriven it for a day. */
  deadLetterAgeSeconds: 24 * 3600,
} as const;

type CustomMetricKey = keyof typeof metricNames;

/**
 * `SUM([a, b])` or `MAX([a, b])` of the series by id, point by point. Over a single series
 * these functions return one number for the whole range instead, so one id stays itself.
 */
function combineSeries(combine: 'SUM' | 'MAX', ids: readonly string[]): string {
  return ids.length === 1 ? (ids[0] as string) : `${combine}([${ids.join(', ')}])`;
}

/** A metric the functions emit through Powertools: namespace and `service` dimension. */
function customMetric(key: CustomMetricKey, statistic: string = Stats.SUM, period = Duration.minutes(1)): Metric {
  return new Metric({
    namespace: metricsNamespace,
    metricName: metricNames[key],
    dimensionsMap: { service: powertoolsServiceName },
    statistic,
    period,
    label: metricNames[key],
  });
}

interface ObservabilityProps {
  stage: StageSettings;
  api: RestApi;
  /** The endpoints deployed, with their functions and classes, by endpoint id. */
  endpoints: readonly EndpointDefinition[];
  functions: ReadonlyMap<string, ServiceFunction>;
  functionClasses: ReadonlyMap<string, FunctionClass>;
  publisher: EventPublisher;
  table: ITable;
  alarms: StageAlarms;
}

export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly api5xxRateAlarm: Alarm;
  readonly throttledShareAlarm: Alarm;
  /** Absent when the resolve endpoint is not deployed (a subset of endpoints). */
  readonly resolveLatencyAlarm?: Alarm;
  readonly staleResolveAlarm: Alarm;
  readonly functionErrorAlarms: ReadonlyMap<string, Alarm>;
  readonly classThrottleAlarms: ReadonlyMap<FunctionClass, Alarm>;
  readonly classConcurrencyAlarms: ReadonlyMap<FunctionClass, Alarm>;
  readonly tableThrottleAlarm: Alarm;
  readonly publisherErrorsAlarm: Alarm;
  readonly deadLetterAgeAlarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    const { api, table, alarms, stage, publisher } = props;
    const stageName = stage.name;

    /** The functions of each class, the publisher in its own. */
    const byClass = new Map<FunctionClass, ServiceFunction[]>(functionClasses.map((c) => [c, []]));
    for (const [endpointId, fn] of props.functions) {
      const functionClass = props.functionClasses.get(endpointId);
      if (functionClass === undefined) throw new Error(`no function class for ${endpointId}`);
      byClass.get(functionClass)?.push(fn);
    }
    byClass.get('publisher')?.push(publisher.function);

    const methodMetric = (endpoint: EndpointDefinition, metricName: string, statistic: string): Metric =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: api.restApiName, Method: endpoint.method, Resource: endpoint.path, Stage: stageName },
        statistic,
        period: minute,
        label: endpoint.id,
      });
    const throttledRequests = new Metric({
      namespace: throttledRequestsMetric.namespace,
      metricName: throttledRequestsMetric.metricName,
      dimensionsMap: { [throttledRequestsMetric.dimension]: stageName },
      statistic: Stats.SUM,
      period: minute,
      label: '429',
    });
    const requests = api.metricCount({ period: minute, statistic: Stats.SUM, label: 'requests' });

    // ---- Alarms -------------------------------------------------------------------------
    this.api5xxRateAlarm = alarms.create(this, 'Api5xxRate', {
      what: 'Api5xxRate',
      runbookAnchor: 'api5xxrate',
      summary: `More than ${alarmThresholds.api5xxRate * 100}% of API requests answered 5xx in 3 of 5 minutes.`,
      // The Average of 5XXError is the share of requests that failed with 5xx.
      metric: api.metricServerError({ period: minute, statistic: Stats.AVERAGE }),
      threshold: alarmThresholds.api5xxRate,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...threeOfFive,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.throttledShareAlarm = alarms.create(this, 'ThrottledShare', {
      what: 'Api429Share',
      runbookAnchor: 'api429share',
      summary: `More than ${alarmThresholds.throttledPercent}% of API requests answered 429 (throttled) in 3 of 5 minutes.`,
      metric: new MathExpression({
        expression: '100 * FILL(throttled, 0) / requests',
        usingMetrics: { throttled: throttledRequests, requests },
        period: minute,
        label: '429 share (%)',
      }),
      threshold: alarmThresholds.throttledPercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...threeOfFive,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const resolveEndpoint = props.endpoints.find((endpoint) => endpoint.id === endpointTable.resolveRoute.id);
    if (resolveEndpoint !== undefined) {
      this.resolveLatencyAlarm = alarms.create(this, 'ResolveLatencyP99', {
        what: 'ResolveLatencyP99',
        runbookAnchor: 'resolvelatencyp99',
        summary: `Resolve's p99 latency at API Gateway above ${alarmThresholds.resolveP99Ms} ms in 3 of 5 minutes.`,
        metric: methodMetric(resolveEndpoint, 'Latency', Stats.p(99)),
        threshold: alarmThresholds.resolveP99Ms,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...threeOfFive,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    this.staleResolveAlarm = alarms.create(this, 'StaleResolveAnswers', {
      what: 'StaleResolveAnswers',
      runbookAnchor: 'staleresolveanswers',
      summary: 'Resolve served last-known-good routes (stale-if-error) because the table failed, in 3 of 5 minutes.',
      metric: customMetric('staleResolveAnswers'),
      threshold: alarmThresholds.staleResolveAnswers,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...threeOfFive,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const errorAlarms = new Map<string, Alarm>();
    for (const [endpointId, fn] of props.functions) {
      errorAlarms.set(
        endpointId,
        alarms.create(this, `${endpointId}Errors`, {
          what: `${endpointId}-Errors`,
          runbookAnchor: 'functionerrors',
          summary: `The ${endpointId} function failed (unhandled errors or timeouts) in 2 of 3 minutes.`,
          metric: fn.metricErrors({ period: minute, statistic: Stats.SUM }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.functionErrorAlarms = errorAlarms;

    const throttleAlarms = new Map<FunctionClass, Alarm>();
    const concurrencyAlarms = new Map<FunctionClass, Alarm>();
    for (const [functionClass, members] of byClass) {
      if (members.length === 0) continue;
      const throttles: Record<string, IMetric> = {};
      members.forEach((fn, index) => {
        throttles[`${functionClass}${index}`] = fn.metricThrottles({ period: minute, statistic: Stats.SUM });
      });
      throttleAlarms.set(
        functionClass,
        alarms.create(this, `${functionClass}Throttles`, {
          what: `${functionClass}-LambdaThrottles`,
          runbookAnchor: 'lambdathrottles',
          summary: `Lambda throttled invocations of the ${functionClass} functions in 3 of 5 minutes: they hit their reserved concurrency.`,
          metric: new MathExpression({
            expression: combineSeries('SUM', Object.keys(throttles)),
            usingMetrics: throttles,
            period: minute,
            label: `${functionClass} throttles`,
          }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          ...threeOfFive,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );

      const reserved = stage.functionClasses[functionClass].reservedConcurrency;
      if (reserved === undefined) continue;
      // The busiest function of the class, as a share of its reservation (all equal).
      const concurrency: Record<string, IMetric> = {};
      members.forEach((fn, index) => {
        concurrency[`${functionClass}${index}`] = fn.metric('ConcurrentExecutions', { period: minute, statistic: Stats.MAXIMUM });
      });
      concurrencyAlarms.set(
        functionClass,
        alarms.create(this, `${functionClass}Concurrency`, {
          what: `${functionClass}-ConcurrencyNearReservation`,
          runbookAnchor: 'concurrencynearreservation',
          summary: `A ${functionClass} function used over ${alarmThresholds.concurrencyShare * 100}% of its ${reserved} reserved concurrent executions in 3 of 5 minutes.`,
          metric: new MathExpression({
            expression: `${combineSeries('MAX', Object.keys(concurrency))} / ${reserved}`,
            usingMetrics: concurrency,
            period: minute,
            label: `${functionClass} share of reservation`,
          }),
          threshold: alarmThresholds.concurrencyShare,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          ...threeOfFive,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.classThrottleAlarms = throttleAlarms;
    this.classConcurrencyAlarms = concurrencyAlarms;

    const tableThrottles = table.metricThrottledRequestsForOperations({
      operations: [...watchedTableOperations],
      period: minute,
      label: 'Throttled requests',
    });
    this.tableThrottleAlarm = alarms.create(this, 'TableThrottles', {
      what: 'TableThrottles',
      runbookAnchor: 'tablethrottles',
      summary: 'DynamoDB throttled requests on the routes table in 3 of 5 minutes.',
      metric: tableThrottles,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...threeOfFive,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const publisherErrors = publisher.function.metricErrors({ period: minute, statistic: Stats.SUM });
    const failedRecords = customMetric('routeEventRecordsFailed');
    this.publisherErrorsAlarm = alarms.create(this, 'PublisherErrors', {
      what: 'PublisherErrors',
      runbookAnchor: 'publishererrors',
      summary: 'The event publisher failed or handed stream records back to retry in 3 of 5 minutes.',
      metric: new MathExpression({
        expression: 'FILL(errors, 0) + FILL(failed, 0)',
        usingMetrics: { errors: publisherErrors, failed: failedRecords },
        period: minute,
        label: 'publisher errors and failed records',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...threeOfFive,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const deadLetterQueues: [string, IQueue][] = [
      ['Publisher', publisher.deadLetterQueue],
      ['RouteChanges', publisher.routeChangesDeadLetterQueue],
    ];
    this.deadLetterAgeAlarms = deadLetterQueues.map(([name, queue]) =>
      alarms.create(this, `${name}DeadLetterAge`, {
        what: `${name}DeadLetterAge`,
        runbookAnchor: 'deadletterage',
        summary: `The oldest message in the ${name} dead-letter queue is over a day old: nobody has redriven it, and it expires after 14 days.`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
        threshold: alarmThresholds.deadLetterAgeSeconds,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );

    // ---- Dashboard ----------------------------------------------------------------------
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: stageResourceName(stageName),
      defaultInterval: Duration.hours(3),
    });
    const row = (title: string): TextWidget => new TextWidget({ markdown: `## ${title}`, width: 24, height: 1 });
    const graph = (title: string, left: IMetric[], width = 6, right: IMetric[] = []): GraphWidget =>
      new GraphWidget({ title, left, right, width, height: 6 });
    const perEndpoint = (metricName: string, statistic: string): Metric[] =>
      props.endpoints.map((endpoint) => methodMetric(endpoint, metricName, statistic));

    this.dashboard.addWidgets(new TextWidget({ markdown: `# traffic-manager (${stageName})`, width: 24, height: 1 }));

    this.dashboard.addWidgets(row('API'));
    this.dashboard.addWidgets(
      graph('Requests, 4xx, 5xx, 429', [
        requests,
        api.metricClientError({ period: minute, statistic: Stats.SUM, label: '4xx' }),
        api.metricServerError({ period: minute, statistic: Stats.SUM, label: '5xx' }),
        throttledRequests,
      ]),
      graph('Requests by endpoint', perEndpoint('Count', Stats.SUM)),
      graph('4xx by endpoint', perEndpoint('4XXError', Stats.SUM)),
      graph('5xx by endpoint', perEndpoint('5XXError', Stats.SUM)),
    );
    this.dashboard.addWidgets(
      graph(
        '429 by endpoint',
        props.endpoints.map(
          (endpoint) =>
            new Metric({
              namespace: throttledRequestsMetric.namespace,
              metricName: throttledRequestsMetric.metricName,
              dimensionsMap: { stage: stageName, httpMethod: endpoint.method, resourcePath: endpoint.path },
              statistic: Stats.SUM,
              period: minute,
              label: endpoint.id,
            }),
        ),
      ),
      graph('Latency p50 by endpoint (ms)', perEndpoint('Latency', Stats.p(50))),
      graph('Latency p90 by endpoint (ms)', perEndpoint('Latency', Stats.p(90))),
      graph('Latency p99 by endpoint (ms)', perEndpoint('Latency', Stats.p(99))),
    );

    this.dashboard.addWidgets(row('Resolve'));
    this.dashboard.addWidgets(
      graph(
        'Route cache hit ratio',
        [
          new MathExpression({
            expression: 'FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0) + FILL(stale, 0))',
            usingMetrics: {
              hits: customMetric('routeCacheHits'),
              misses: customMetric('routeCacheMisses'),
              stale: customMetric('staleResolveAnswers'),
            },
            period: minute,
            label: 'hit ratio',
          }),
        ],
        8,
      ),
      graph('Stale answers (stale-if-error)', [customMetric('staleResolveAnswers')], 8),
      graph('Circuit breaker opened', [customMetric('resolveBreakerOpened')], 8),
    );

    this.dashboard.addWidgets(row('Writes'));
    this.dashboard.addWidgets(
      graph('Commits', [customMetric('writesCommitted')]),
      graph('Conflicts (retried)', [customMetric('writeConflicts')]),
      graph('Precondition failures (412)', [customMetric('writePreconditionFailures')]),
      graph('Outcome unknown (503)', [customMetric('writeOutcomesUnknown')]),
    );

    this.dashboard.addWidgets(row('Events'));
    this.dashboard.addWidgets(
      graph('Publisher errors', [publisherErrors], 6, [customMetric('routeEventsPublished')]),
      graph('Iterator age (ms)', [publisher.function.metric('IteratorAge', { period: minute, statistic: Stats.MAXIMUM })]),
      graph('Failed records (retried)', [failedRecords]),
      graph(
        'Dead-letter queue depth',
        deadLetterQueues.map(([name, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: Stats.MAXIMUM, label: name }),
        ),
      ),
    );

    this.dashboard.addWidgets(row('DynamoDB'));
    this.dashboard.addWidgets(
      graph('Consumed capacity', [
        table.metricConsumedReadCapacityUnits({ period: minute, statistic: Stats.SUM, label: 'read units' }),
        table.metricConsumedWriteCapacityUnits({ period: minute, statistic: Stats.SUM, label: 'write units' }),
      ], 8),
      graph('Throttled requests', [tableThrottles], 8),
      graph(
        'Latency p99 by operation (ms)',
        [Operation.GET_ITEM, Operation.QUERY, Operation.TRANSACT_WRITE_ITEMS].map((operation) =>
          table.metricSuccessfulRequestLatency({
            dimensionsMap: { TableName: table.tableName, Operation: operation },
            period: minute,
            statistic: Stats.p(99),
            label: operation,
          }),
        ),
        8,
      ),
    );

    this.dashboard.addWidgets(row('Lambda by function class'));
    const perClass = (metricName: string, statistic: string, combine: 'SUM' | 'MAX'): MathExpression[] =>
      [...byClass]
        .filter(([, members]) => members.length > 0)
        .map(([functionClass, members]) => {
          const using: Record<string, IMetric> = {};
          members.forEach((fn, index) => {
            using[`${functionClass}${index}`] = fn.metric(metricName, { period: minute, statistic });
          });
          return new MathExpression({
            expression: combineSeries(combine, Object.keys(using)),
            usingMetrics: using,
            period: minute,
            label: functionClass,
          });
        });
    this.dashboard.addWidgets(
      graph('Errors', perClass('Errors', Stats.SUM, 'SUM')),
      graph('Throttles', perClass('Throttles', Stats.SUM, 'SUM')),
      graph('Duration p99, slowest function (ms)', perClass('Duration', Stats.p(99), 'MAX')),
      graph('Concurrent executions', perClass('ConcurrentExecutions', Stats.MAXIMUM, 'SUM')),
    );

    this.dashboard.addWidgets(row('Alarms'));
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarm status', alarms: [...alarms.all], width: 24, height: 6 }),
    );
  }
}
