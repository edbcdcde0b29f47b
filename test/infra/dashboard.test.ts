import { throttledRequestsMetric } from '#infra/constructs/endpoint-api';
import { metricsNamespace, powertoolsServiceName } from '#infra/constructs/service-function';
import { metricNames } from '#shared/metric-names';
import { resourcesOf, synth, type Synthesised } from '#test/infra/synth';

interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: unknown[][]; alarms?: unknown[] };
}

/** The dashboard body as JSON, each CloudFormation token inside it replaced by `<token>`. */
function dashboardBody(built: Synthesised): { widgets: Widget[] } {
  const [dashboard] = resourcesOf(built.template, 'AWS::CloudWatch::Dashboard');
  const body = dashboard?.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join('');
  return JSON.parse(text) as { widgets: Widget[] };
}

/** A metric row of a graph: namespace, name, then dimension name/value pairs, then options. */
interface MetricRef {
  namespace: string;
  name: string;
  dimensions: Record<string, unknown>;
}

function metricRefs(widgets: readonly Widget[]): MetricRef[] {
  const refs: MetricRef[] = [];
  for (const widget of widgets) {
    for (const row of widget.properties.metrics ?? []) {
      const plain = row.filter((cell) => typeof cell === 'string') as string[];
      if (plain.length < 2) continue; // a math expression row: `[{ expression, ... }]`
      const [namespace, name, ...pairs] = plain;
      const dimensions: Record<string, unknown> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1];
      refs.push({ namespace: namespace as string, name: name as string, dimensions });
    }
  }
  return refs;
}

/** Whether a custom (non-AWS) metric is one the code or the stack emits, as it emits it. */
function isKnownCustomMetric(ref: MetricRef, stageName: string): boolean {
  const emittedByFunctions =
    ref.namespace === metricsNamespace &&
    (Object.values(metricNames) as string[]).includes(ref.name) &&
    JSON.stringify(ref.dimensions) === JSON.stringify({ service: powertoolsServiceName });
  // The access-log metric filters of the stack itself: per stage, and per stage and endpoint.
  const dimensionNames = Object.keys(ref.dimensions).sort();
  const emittedByStack =
    ref.namespace === throttledRequestsMetric.namespace &&
    ref.name === throttledRequestsMetric.metricName &&
    ref.dimensions[throttledRequestsMetric.dimension] === stageName &&
    (JSON.stringify(dimensionNames) === JSON.stringify([throttledRequestsMetric.dimension]) ||
      JSON.stringify(dimensionNames) === JSON.stringify([...throttledRequestsMetric.endpointDimensions].sort()));
  return emittedByFunctions || emittedByStack;
}

describe.each(['dev', 'prod'] as const)('the %s dashboard', (stage) => {
  let built: Synthesised;
  let widgets: Widget[];

  beforeAll(() => {
    built = synth({ stage });
    widgets = dashboardBody(built).widgets;
  });

  it(`is named TrafficManager-${stage}`, () => {
    built.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `TrafficManager-${stage}` });
  });

  it('reads top-down: API, resolve, writes, events, DynamoDB, Lambda by class, alarm status', () => {
    const rows = widgets.filter((w) => w.type === 'text').map((w) => w.properties.markdown);
    expect(rows).toEqual([
      `# traffic-manager (${stage})`,
      '## API',
      '## Resolve',
      '## Writes',
      '## Events',
      '## DynamoDB',
      '## Lambda by function class',
      '## Alarms',
    ]);
    const last = widgets.at(-1);
    expect(last?.type).toBe('alarm');
    expect(last?.properties.alarms).toHaveLength(resourcesOf(built.template, 'AWS::CloudWatch::Alarm').length);
  });

  it('draws requests, 4xx, 5xx, 429 and latency p50/p90/p99 per endpoint', () => {
    const titles = widgets.map((w) => w.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Requests, 4xx, 5xx, 429',
        '429 by endpoint',
        'Latency p50 by endpoint (ms)',
        'Latency p90 by endpoint (ms)',
        'Latency p99 by endpoint (ms)',
        'Route cache hit ratio',
        'Stale answers (stale-if-error)',
        'Circuit breaker opened',
        'Commits',
        'Conflicts (retried)',
        'Precondition failures (412)',
        'Outcome unknown (503)',
        'Publisher errors',
        'Iterator age (ms)',
        'Failed records (retried)',
        'Dead-letter queue depth',
        'Consumed capacity',
        'Errors',
        'Throttles',
        'Concurrent executions',
      ]),
    );
    const p99 = widgets.find((w) => w.properties.title === 'Latency p99 by endpoint (ms)');
    const resolveRow = (p99?.properties.metrics ?? []).find((row) => row.includes('/v1/tenants/{tenant}/resolve/{service}/{env}'));
    expect(resolveRow).toEqual(
      expect.arrayContaining(['AWS/ApiGateway', 'Latency', 'ApiName', `TrafficManager-${stage}`, 'Stage', stage, 'Method', 'GET']),
    );
  });

  it('counts 429s from the access log, per stage and per endpoint', () => {
    const filters = resourcesOf(built.template, 'AWS::Logs::MetricFilter');
    expect(filters.map((filter) => filter.Properties.FilterPattern)).toEqual(['{ $.status = "429" }', '{ $.status = "429" }']);
    const dimensionSets = filters.map((filter) =>
      (filter.Properties.MetricTransformations as { Dimensions: { Key: string }[] }[])[0]?.Dimensions.map((d) => d.Key).sort(),
    );
    expect(dimensionSets).toEqual(expect.arrayContaining([['stage'], ['httpMethod', 'resourcePath', 'stage']]));
  });

  it('names no custom metric that shared/metric-names.ts (or the stack itself) does not define', () => {
    const custom = metricRefs(widgets).filter((ref) => !ref.namespace.startsWith('AWS/'));
    expect(custom.length).toBeGreaterThan(5);
    expect(custom.filter((ref) => !isKnownCustomMetric(ref, stage))).toEqual([]);
  });
});

describe('the custom-metric check', () => {
  it('fails on a name, namespace or dimension that nothing emits', () => {
    const good = { namespace: metricsNamespace, name: metricNames.staleResolveAnswers, dimensions: { service: powertoolsServiceName } };
    expect(isKnownCustomMetric(good, 'dev')).toBe(true);
    expect(isKnownCustomMetric({ ...good, name: 'RouteCacheStal' }, 'dev')).toBe(false);
    expect(isKnownCustomMetric({ ...good, namespace: 'Trafficmanager' }, 'dev')).toBe(false);
    expect(isKnownCustomMetric({ ...good, dimensions: { service: 'other' } }, 'dev')).toBe(false);
    const throttled = { namespace: metricsNamespace, name: throttledRequestsMetric.metricName, dimensions: { stage: 'dev' } };
    expect(isKnownCustomMetric(throttled, 'dev')).toBe(true);
    expect(isKnownCustomMetric(throttled, 'prod')).toBe(false);
    expect(isKnownCustomMetric({ ...throttled, dimensions: { stage: 'dev', path: '/' } }, 'dev')).toBe(false);
  });
});
