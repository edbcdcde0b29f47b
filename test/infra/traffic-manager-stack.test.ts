import { Match } from 'aws-cdk-lib/assertions';
import { accessLogFields, methodOptionsKey, usagePlanTiers } from '#infra/constructs/endpoint-api';
import { metricsNamespace, powertoolsServiceName } from '#infra/constructs/service-function';
import { functionClassOf } from '#infra/function-classes';
import { stageFromContext } from '#infra/stage';
import { endpointList, throttles } from '#shared/http/endpoints';
import {
  actionsOf,
  alarmsOf,
  environmentOf,
  functionOf,
  liveAliasOf,
  resourcesOf,
  synth,
  testAuthContext,
  type Synthesised,
} from '#test/infra/synth';

const dynamoWriteActions = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:*',
];

const itemReadActions = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'];

/** `/v1/tenants/{tenant}/routes` as a stage MethodSetting's ResourcePath. */
function settingPath(path: string): string {
  return path.replaceAll('/', '~1').replace(/^/, '/');
}

describe('the stack, built from the endpoint table', () => {
  let dev: Synthesised;

  beforeAll(() => {
    dev = synth({ stage: 'dev' });
  });

  it('declares one function per endpoint (and the event publisher), on Node.js 24, arm64, with active tracing', () => {
    const template = dev.template;
    template.resourceCountIs('AWS::Lambda::Function', endpointList.length + 2);
    const classes = dev.stage.functionClasses;
    for (const endpoint of endpointList) {
      const settings = classes[functionClassOf(endpoint)];
      expect(functionOf(template, endpoint).Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        Timeout: settings.timeoutSeconds,
        MemorySize: settings.memorySize,
      });
    }
  });

  it('gives each function its own log group with a retention', () => {
    const template = dev.template;
    for (const endpoint of endpointList) {
      const logConfig = functionOf(template, endpoint).Properties.LoggingConfig as { LogGroup: { Ref: string } };
      const group = resourcesOf(template, 'AWS::Logs::LogGroup').find((g) => g.id === logConfig.LogGroup.Ref);
      expect(group?.Properties.RetentionInDays).toBe(7);
    }
  });

  it('sets the Powertools environment on every function', () => {
    for (const endpoint of endpointList) {
      expect(environmentOf(functionOf(dev.template, endpoint))).toMatchObject({
        POWERTOOLS_SERVICE_NAME: powertoolsServiceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
        LOG_LEVEL: 'DEBUG',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
    expect(metricsNamespace).toBe('TrafficManager');
  });

  it('sets TABLE_NAME and EVENT_BUS_NAME exactly where the endpoint has that access', () => {
    for (const endpoint of endpointList) {
      const environment = environmentOf(functionOf(dev.template, endpoint));
      expect({ id: endpoint.id, table: 'TABLE_NAME' in environment }).toEqual({
        id: endpoint.id,
        table: endpoint.access.table !== undefined,
      });
      expect({ id: endpoint.id, bus: 'EVENT_BUS_NAME' in environment }).toEqual({
        id: endpoint.id,
        bus: endpoint.access.bus !== undefined,
      });
    }
  });

  it('gives the token settings to every function that checks scopes, and to no other', () => {
    for (const endpoint of endpointList) {
      const environment = environmentOf(functionOf(dev.template, endpoint));
      if (endpoint.scopes === null) {
        expect(environment).not.toHaveProperty('AUTH_JWKS_URL');
      } else {
        expect(environment).toMatchObject({
          AUTH_JWKS_URL: testAuthContext.jwksUrl,
          AUTH_ISSUER: testAuthContext.issuer,
          AUTH_AUDIENCE: testAuthContext.audience,
        });
      }
    }
  });

  it('grants the health functions DescribeTable on the table and no item access', () => {
    const probes = endpointList.filter((endpoint) => endpoint.scopes === null && endpoint.access.table !== undefined);
    expect(probes.map((endpoint) => endpoint.id).sort()).toEqual(['getHealth', 'getReady']);
    for (const endpoint of probes) {
      const actions = actionsOf(dev.template, functionOf(dev.template, endpoint));
      expect(actions.filter((action) => action.startsWith('dynamodb:'))).toEqual(['dynamodb:DescribeTable']);
    }
  });

  it('grants no function BatchWriteItem, which none calls', () => {
    for (const endpoint of endpointList) {
      expect(actionsOf(dev.template, functionOf(dev.template, endpoint))).not.toContain('dynamodb:BatchWriteItem');
    }
  });

  it('grants read-only functions no DynamoDB write action', () => {
    const readers = endpointList.filter((endpoint) => endpoint.access.table === 'read' && endpoint.scopes !== null);
    expect(itemReadActions).toContain('dynamodb:GetItem');
    expect(readers.length).toBeGreaterThan(0);
    for (const endpoint of readers) {
      const actions = actionsOf(dev.template, functionOf(dev.template, endpoint));
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
      expect(actions.filter((action) => dynamoWriteActions.includes(action))).toEqual([]);
    }
  });

  it('grants writers the write actions they need', () => {
    const writers = endpointList.filter((endpoint) => endpoint.access.table === 'readWrite');
    expect(writers.length).toBeGreaterThan(0);
    for (const endpoint of writers) {
      const actions = actionsOf(dev.template, functionOf(dev.template, endpoint));
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']));
    }
  });

  it('grants no dynamodb: action to functions without table access, no events: action without bus access', () => {
    for (const endpoint of endpointList) {
      const actions = actionsOf(dev.template, functionOf(dev.template, endpoint));
      if (endpoint.access.table === undefined) {
        expect({ id: endpoint.id, dynamodb: actions.filter((a) => a.startsWith('dynamodb:')) }).toEqual({
          id: endpoint.id,
          dynamodb: [],
        });
      }
      if (endpoint.access.bus === undefined) {
        expect({ id: endpoint.id, events: actions.filter((a) => a.startsWith('events:')) }).toEqual({
          id: endpoint.id,
          events: [],
        });
      }
      if (endpoint.access.bus === 'read') {
        expect(actions.filter((a) => a.startsWith('events:'))).toEqual(['events:DescribeEventBus']);
      }
    }
  });

  it('uses no managed policy and no wildcard action on function roles', () => {
    for (const endpoint of endpointList) {
      const actions = actionsOf(dev.template, functionOf(dev.template, endpoint));
      expect(actions).not.toContain('<managed policy>');
      expect(actions.filter((action) => action.endsWith('*'))).toEqual([]);
    }
  });

  it('scopes table grants to the table and its ByTenant index, never index/*', () => {
    const statements = resourcesOf(dev.template, 'AWS::IAM::Policy').flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement,
    );
    expect(JSON.stringify(statements)).toContain('/index/ByTenant');
    expect(JSON.stringify(statements)).not.toContain('/index/*');
  });

  it("routes each endpoint through a Lambda proxy integration at its method and path, to the function's live alias", () => {
    const template = dev.template;
    template.resourceCountIs('AWS::ApiGateway::Method', endpointList.length);
    for (const endpoint of endpointList) {
      const alias = liveAliasOf(template, functionOf(template, endpoint));
      expect(alias.Properties.Name).toBe('live');
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: endpoint.method,
        OperationName: endpoint.id,
        Integration: Match.objectLike({
          Type: 'AWS_PROXY',
          IntegrationHttpMethod: 'POST',
          Uri: Match.objectLike({
            'Fn::Join': ['', Match.arrayWith([{ Ref: alias.id }])],
          }),
        }),
      });
      // API Gateway may invoke the alias (not $LATEST, not the bare function).
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: { Ref: alias.id },
        Principal: 'apigateway.amazonaws.com',
      });
    }
    const pathParts = resourcesOf(template, 'AWS::ApiGateway::Resource').map((r) => r.Properties.PathPart);
    expect(pathParts).toEqual(expect.arrayContaining(['v1', 'tenants', '{tenant}', 'routes', 'health', 'live']));
  });

  it('throttles the stage as the endpoint table says', () => {
    dev.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: throttles.stage.rateLimit,
          ThrottlingBurstLimit: throttles.stage.burstLimit,
        }),
      ]),
    });
  });

  it('throttles every method as its endpoint says', () => {
    const [stage] = resourcesOf(dev.template, 'AWS::ApiGateway::Stage');
    const settings = stage?.Properties.MethodSettings as {
      HttpMethod: string;
      ResourcePath: string;
      ThrottlingRateLimit: number;
      ThrottlingBurstLimit: number;
    }[];
    for (const endpoint of endpointList) {
      const setting = settings.find(
        (s) => s.HttpMethod === endpoint.method && s.ResourcePath === settingPath(endpoint.path),
      );
      expect({ key: methodOptionsKey(endpoint), rate: setting?.ThrottlingRateLimit, burst: setting?.ThrottlingBurstLimit }).toEqual({
        key: `${endpoint.path}/${endpoint.method}`,
        rate: endpoint.throttle.rateLimit,
        burst: endpoint.throttle.burstLimit,
      });
    }
    expect(settings).toHaveLength(endpointList.length + 1);
  });

  it('writes JSON access logs to a log group, with tracing and error logging on the stage', () => {
    const [stage] = resourcesOf(dev.template, 'AWS::ApiGateway::Stage');
    const accessLog = stage?.Properties.AccessLogSetting as { DestinationArn: unknown; Format: string };
    const destination = JSON.stringify(accessLog.DestinationArn);
    const group = resourcesOf(dev.template, 'AWS::Logs::LogGroup').find(
      (g) => destination.includes(`{"Ref":"${g.id}"}`) || destination.includes(`["${g.id}","Arn"]`),
    );
    expect(group).toBeDefined();
    expect(JSON.parse(accessLog.Format)).toEqual(accessLogFields);
    expect(JSON.parse(accessLog.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(stage?.Properties).toMatchObject({
      TracingEnabled: true,
      MethodSettings: expect.arrayContaining([expect.objectContaining({ ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false })]),
    });
  });

  it('answers throttled and over-quota callers with 429, Retry-After and a problem body', () => {
    for (const type of ['THROTTLED', 'QUOTA_EXCEEDED']) {
      dev.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: '429',
        ResponseParameters: Match.objectLike({
          'gatewayresponse.header.Retry-After': Match.stringLikeRegexp("^'\\d+'$"),
          'gatewayresponse.header.Content-Type': "'application/problem+json'",
        }),
      });
    }
  });

  it("gives every API Gateway refusal the security headers and the caller's x-request-id", () => {
    const types = ['THROTTLED', 'QUOTA_EXCEEDED', 'MISSING_AUTHENTICATION_TOKEN', 'INVALID_API_KEY', 'REQUEST_TOO_LARGE',
      'INTEGRATION_FAILURE', 'INTEGRATION_TIMEOUT', 'API_CONFIGURATION_ERROR', 'DEFAULT_4XX', 'DEFAULT_5XX'];
    for (const type of types) {
      dev.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: Match.objectLike({
          'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
          'gatewayresponse.header.Strict-Transport-Security': Match.stringLikeRegexp('max-age='),
          'gatewayresponse.header.x-request-id': 'method.request.header.x-request-id',
        }),
      });
    }
  });

  it.each([
    ['MISSING_AUTHENTICATION_TOKEN', '404'],
    ['REQUEST_TOO_LARGE', '413'],
    ['INTEGRATION_FAILURE', '502'],
    ['INTEGRATION_TIMEOUT', '504'],
  ])('answers %s with a %s problem body carrying the request id', (type, status) => {
    dev.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: status,
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Content-Type': "'application/problem+json'" }),
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp(`"status":${status},.*"requestId":"\\$context.requestId"`),
      },
    });
  });

  it('declares no CORS unless origins are configured, and then preflight plus the functions\' origins', () => {
    const hasOptions = (template: typeof dev.template): boolean =>
      resourcesOf(template, 'AWS::ApiGateway::Method').some((method) => method.Properties.HttpMethod === 'OPTIONS');
    expect(hasOptions(dev.template)).toBe(false);
    const withCors = synth({ context: { corsOrigins: 'https://console.example.com' } });
    expect(hasOptions(withCors.template)).toBe(true);
    const fn = functionOf(withCors.template, { method: 'GET', path: '/v1/tenants/{tenant}/routes' });
    expect(environmentOf(fn).CORS_ALLOWED_ORIGINS).toBe('https://console.example.com');
    expect(environmentOf(functionOf(dev.template, { method: 'GET', path: '/v1/tenants/{tenant}/routes' }))).not.toHaveProperty(
      'CORS_ALLOWED_ORIGINS',
    );
  });

  it('declares a usage plan per tier with its quota and throttle, bound to the stage and to an API key', () => {
    const template = dev.template;
    const tiers = Object.values(usagePlanTiers);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', tiers.length);
    template.resourceCountIs('AWS::ApiGateway::ApiKey', tiers.length);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', tiers.length);
    const [stage] = resourcesOf(template, 'AWS::ApiGateway::Stage');
    for (const tier of tiers) {
      template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        Quota: { Limit: tier.quota.limit, Period: tier.quota.period },
        Throttle: { RateLimit: tier.throttle.rateLimit, BurstLimit: tier.throttle.burstLimit },
        ApiStages: [Match.objectLike({ Stage: { Ref: stage?.id } })],
      });
    }
    for (const plan of resourcesOf(template, 'AWS::ApiGateway::UsagePlan')) {
      template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
        UsagePlanId: { Ref: plan.id },
        KeyType: 'API_KEY',
      });
    }
  });

  it('requires no API key by default, so bearer tokens alone reach the API', () => {
    for (const method of resourcesOf(dev.template, 'AWS::ApiGateway::Method')) {
      expect(method.Properties.ApiKeyRequired ?? false).toBe(false);
    }
  });

  it('alarms on the API 5xx rate, on errors of every function and on DynamoDB throttles', () => {
    const template = dev.template;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Average',
      Threshold: 0.01,
    });
    for (const endpoint of endpointList) {
      const fn = functionOf(template, endpoint);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn.id } }],
      });
    }
    const throttleAlarms = alarmsOf(template).filter((alarm) =>
      JSON.stringify(alarm.Properties.Metrics ?? []).includes('"Namespace":"AWS/DynamoDB"'),
    );
    expect(throttleAlarms).toHaveLength(1);
  });

  it('draws a dashboard with Lambda, API Gateway and DynamoDB metrics', () => {
    const [dashboard] = resourcesOf(dev.template, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const expected of ['AWS/Lambda', 'Errors', 'Duration', 'AWS/ApiGateway', '4XXError', '5XXError', 'Latency', 'ThrottledRequests']) {
      expect(body).toContain(expected);
    }
  });

  it('outputs the API URL', () => {
    const outputs = dev.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain('execute-api');
  });
});

describe('stack options', () => {
  it('requires an API key on token-protected methods only, when the context asks for it', () => {
    const { template } = synth({ context: { apiKeyRequired: 'true' } });
    for (const endpoint of endpointList) {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        OperationName: endpoint.id,
        ApiKeyRequired: endpoint.scopes !== null,
      });
    }
  });

  it('passes a JWS algorithm allow-list from context, and none by default', () => {
    const scoped = endpointList.find((endpoint) => endpoint.scopes !== null);
    if (scoped === undefined) throw new Error('no scoped endpoint');
    const configured = synth({ context: { authAlgorithms: 'ES256' } }).template;
    expect(environmentOf(functionOf(configured, scoped))).toMatchObject({ AUTH_ALGORITHMS: 'ES256' });
    const unconfigured = synth().template;
    expect(environmentOf(functionOf(unconfigured, scoped))).not.toHaveProperty('AUTH_ALGORITHMS');
  });

  it('takes a subset of endpoints', () => {
    const subset = endpointList.filter((endpoint) => endpoint.path.startsWith('/health')).map((endpoint) => ({
      ...endpoint,
      entry: 'test/infra/fixtures/handler.ts',
    }));
    const { template } = synth({ endpoints: subset });
    template.resourceCountIs('AWS::Lambda::Function', subset.length + 2);
  });

  it('reads per-class settings and reservations from the stage, and drops reservations on request', () => {
    const prod = synth({ stage: 'prod' });
    const resolve = functionOf(prod.template, { method: 'GET', path: '/v1/tenants/{tenant}/resolve/{service}/{env}' });
    expect(resolve.Properties.ReservedConcurrentExecutions).toBe(prod.stage.functionClasses.resolve.reservedConcurrency);
    expect(resolve.Properties.MemorySize).toBe(prod.stage.functionClasses.resolve.memorySize);
    const unreserved = synth({ context: { reserveConcurrency: 'false' } });
    for (const fn of resourcesOf(unreserved.template, 'AWS::Lambda::Function')) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    expect(stageFromContext(unreserved.app.node).functionClasses.resolve.reservedConcurrency).toBeUndefined();
  });

  it('keeps logs longer and logs at INFO in prod', () => {
    const { template } = synth({ stage: 'prod' });
    const [fn] = resourcesOf(template, 'AWS::Lambda::Function');
    expect(environmentOf(fn as never)).toMatchObject({ LOG_LEVEL: 'INFO' });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
    });
  });

  it('refuses to synthesise prod without token settings, naming the missing keys', () => {
    expect(() => synth({ stage: 'prod', context: { jwksUrl: '' } })).toThrow(
      'Stage prod needs the context keys jwksUrl: pass -c jwksUrl=...',
    );
  });

  it('refuses an unknown stage', () => {
    expect(() => synth({ context: { stage: 'staging' } })).toThrow(/Unknown stage "staging"/);
  });
});
