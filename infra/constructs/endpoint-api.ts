/**
 * `EndpointApi`: the REST API built from the endpoint table (shared/http/endpoints.ts).
 * One `ServiceFunction` per endpoint with the grants its `access` names, a Lambda proxy
 * integration at its method and path, stage and per-method throttles from the same table
 * the local server reads, JSON access logs, and usage plans for tiers of callers.
 */
import path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
  type IApiKey,
  type MethodDeploymentOptions,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, LogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { throttles, type EndpointDefinition, type Throttle } from '../../shared/http/endpoints.ts';
import { functionClassOf, type FunctionClass } from '../function-classes.ts';
import { stageResourceName, type AuthSettings, type StageSettings } from '../stage.ts';
import { metricsNamespace, ServiceFunction, type TableAccess } from './service-function.ts';

/**
 * API Gateway has no metric for 429s: a metric filter on the access log counts them, per
 * stage (dimension `stage`), in the service's namespace. Declared here, not in
 * shared/metric-names.ts, because the stack emits it, not the functions.
 */
export const throttledRequestsMetric = {
  namespace: metricsNamespace,
  metricName: 'ApiThrottledRequests',
  dimension: 'stage',
  /**
   * The same count per endpoint, from a second filter: CloudWatch does not add a custom
   * metric up across dimensions, so the stage total (for the alarm) is a filter of its own.
   */
  endpointDimensions: ['stage', 'httpMethod', 'resourcePath'],
} as const;


/** The repository root: endpoint `entry` paths are relative to it. */
/** The repository root (one home: local/paths.ts), re-exported for the infra tests. */
export { repoRoot } from '../../local/paths.ts';
import { repoRoot } from '../../local/paths.ts';
import { REPLAYED_HEADER } from '../../shared/http/headers.ts';
import { problemTypeBase } from '../../shared/middleware/problem.ts';

interface UsagePlanTier {
  description: string;
  throttle: Throttle;
  quota: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH' };
}

/** Tiers of callers: each gets a usage plan and an API key bound to it. */
export const usagePlanTiers = {
  standard: {
    description: 'Standard callers: a data plane polling snapshots, an operator console.',
    throttle: { rateLimit: 50, burstLimit: 100 },
    quota: { limit: 500_000, period: 'DAY' },
  },
  premium: {
    description: 'Premium callers: high-volume resolvers.',
    throttle: { rateLimit: 250, burstLimit: 500 },
    quota: { limit: 10_000_000, period: 'DAY' },
  },
} as const satisfies Record<string, UsagePlanTier>;

/**
 * The access log line: one JSON object per request. Every value is a string because
 * API Gateway substitutes the variables into this template verbatim.
 */
export const accessLogFields = {
  requestId: AccessLogField.contextRequestId(),
  stage: AccessLogField.contextStage(),
  extendedRequestId: AccessLogField.contextExtendedRequestId(),
  requestTime: AccessLogField.contextRequestTime(),
  httpMethod: AccessLogField.contextHttpMethod(),
  resourcePath: AccessLogField.contextResourcePath(),
  path: AccessLogField.contextPath(),
  status: AccessLogField.contextStatus(),
  protocol: AccessLogField.contextProtocol(),
  responseLength: AccessLogField.contextResponseLength(),
  responseLatency: AccessLogField.contextResponseLatency(),
  integrationLatency: AccessLogField.contextIntegrationLatency(),
  integrationStatus: AccessLogField.contextIntegrationStatus(),
  errorMessage: AccessLogField.contextErrorMessage(),
  errorResponseType: AccessLogField.contextErrorResponseType(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  userAgent: AccessLogField.contextIdentityUserAgent(),
  apiKeyId: AccessLogField.contextIdentityApiKeyId(),
  xrayTraceId: AccessLogField.contextXrayTraceId(),
} as const;

/** The `methodOptions` key API Gateway stages use for one method: `/<path>/<METHOD>`. */
export function methodOptionsKey(endpoint: Pick<EndpointDefinition, 'path' | 'method'>): string {
  return `${endpoint.path}/${endpoint.method}`;
}

/** The token settings a function that checks scopes reads (shared/config.ts, `authEnv`). */
function authEnvironment(auth: AuthSettings): Record<string, string> {
  return {
    AUTH_JWKS_URL: auth.jwksUrl,
    AUTH_ISSUER: auth.issuer,
    AUTH_AUDIENCE: auth.audience,
    ...(auth.algorithms === undefined ? {} : { AUTH_ALGORITHMS: auth.algorithms }),
  };
}

interface EndpointApiProps {
  stage: StageSettings;
  endpoints: readonly EndpointDefinition[];
  table: ITable;
  eventBus: IEventBus;
  auth: AuthSettings;
  /**
   * Whether token-protected methods also require an API key (`x-api-key`), which is what
   * makes usage-plan tiers apply to a caller. Health and the OpenAPI document never do.
   * @default false - the public contract authenticates with bearer tokens only
   */
  apiKeyRequired?: boolean;
  /**
   * A customer-managed key for the access logs and the functions' logs.
   * @default - CloudWatch Logs' own encryption
   */
  logEncryptionKey?: IKey;
}

/**
 * A public endpoint (no token) never reads tenant data, so its table access can only be the
 * readiness probe: DescribeTable, not GetItem or Query. (The endpoint table says `read`;
 * `describe` there would say it in one place: a note for shared/http/endpoints.ts.)
 */
function tableAccessOf(endpoint: Pick<EndpointDefinition, 'scopes' | 'access'>): TableAccess | undefined {
  if (endpoint.access.table === undefined) return undefined;
  return endpoint.scopes === null ? 'describe' : endpoint.access.table;
}

export class EndpointApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  /** The function of each endpoint, by endpoint id. */
  readonly functions: ReadonlyMap<string, ServiceFunction>;
  /** The class (bulkhead) of each endpoint's function, by endpoint id. */
  readonly functionClasses: ReadonlyMap<string, FunctionClass>;
  /** 429s answered by API Gateway, counted from the access log. */
  readonly throttledRequests: MetricFilter;
  readonly usagePlans: Readonly<Record<keyof typeof usagePlanTiers, UsagePlan>>;
  readonly apiKeys: Readonly<Record<keyof typeof usagePlanTiers, IApiKey>>;

  constructor(scope: Construct, id: string, props: EndpointApiProps) {
    super(scope, id);
    const { stage, endpoints } = props;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
      ...(props.logEncryptionKey === undefined ? {} : { encryptionKey: props.logEncryptionKey }),
    });
    this.throttledRequests = new MetricFilter(this, 'ThrottledRequests', {
      logGroup: this.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: throttledRequestsMetric.namespace,
      metricName: throttledRequestsMetric.metricName,
      metricValue: '1',
      dimensions: { [throttledRequestsMetric.dimension]: '$.stage' },
    });
    new MetricFilter(this, 'ThrottledRequestsByEndpoint', {
      logGroup: this.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: throttledRequestsMetric.namespace,
      metricName: throttledRequestsMetric.metricName,
      metricValue: '1',
      dimensions: Object.fromEntries(throttledRequestsMetric.endpointDimensions.map((name) => [name, `$.${name}`])),
    });

    const methodOptions: Record<string, MethodDeploymentOptions> = {};
    for (const endpoint of endpoints) {
      methodOptions[methodOptionsKey(endpoint)] = {
        throttlingRateLimit: endpoint.throttle.rateLimit,
        throttlingBurstLimit: endpoint.throttle.burstLimit,
      };
    }

    this.api = new RestApi(this, 'Api', {
      // Also the `ApiName` dimension of its metrics: one per stage.
      restApiName: stageResourceName(stage.name),
      description: `traffic-manager control plane (${stage.name})`,
      endpointTypes: [EndpointType.REGIONAL],
      // The role API Gateway logs with is an account-wide setting: the account stack
      // (../account-stack.ts) owns it, so two stages in one account do not fight over it.
      cloudWatchRole: false,
      deployOptions: {
        stageName: stage.name,
        throttlingRateLimit: throttles.stage.rateLimit,
        throttlingBurstLimit: throttles.stage.burstLimit,
        methodOptions,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
      // CORS only where configured: the preflight answered by API Gateway, the headers on
      // real responses by the functions (CORS_ALLOWED_ORIGINS).
      ...(stage.corsOrigins.length === 0
        ? {}
        : {
            defaultCorsPreflightOptions: {
              allowOrigins: [...stage.corsOrigins],
              allowMethods: ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'],
              allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'x-request-id'],
              exposeHeaders: ['ETag', 'Retry-After', 'x-request-id', REPLAYED_HEADER],
            },
          }),
    });
    this.addThrottleResponses();

    const functions = new Map<string, ServiceFunction>();
    const classes = new Map<string, FunctionClass>();
    for (const endpoint of endpoints) {
      const fn = this.addEndpointFunction(endpoint, props);
      functions.set(endpoint.id, fn);
      classes.set(endpoint.id, functionClassOf(endpoint));
      // API Gateway invokes the `live` alias, never $LATEST: what a deploy shifts.
      this.api.root.resourceForPath(endpoint.path).addMethod(
        endpoint.method,
        new LambdaIntegration(fn.liveAlias, { proxy: true, allowTestInvoke: false }),
        {
          operationName: endpoint.id,
          apiKeyRequired: endpoint.scopes !== null && (props.apiKeyRequired ?? false),
        },
      );
    }
    this.functions = functions;
    this.functionClasses = classes;

    const plans = {} as Record<keyof typeof usagePlanTiers, UsagePlan>;
    const keys = {} as Record<keyof typeof usagePlanTiers, IApiKey>;
    for (const [tier, definition] of Object.entries(usagePlanTiers) as [keyof typeof usagePlanTiers, UsagePlanTier][]) {
      const plan = this.api.addUsagePlan(`${tier}UsagePlan`, {
        description: definition.description,
        throttle: definition.throttle,
        quota: { limit: definition.quota.limit, period: Period[definition.quota.period] },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      const key = this.api.addApiKey(`${tier}ApiKey`, { description: `API key of the ${tier} tier` });
      plan.addApiKey(key);
      plans[tier] = plan;
      keys[tier] = key;
    }
    this.usagePlans = plans;
    this.apiKeys = keys;

    this.acknowledgeNagFindings();
  }

  private addEndpointFunction(endpoint: EndpointDefinition, props: EndpointApiProps): ServiceFunction {
    const { stage, auth } = props;
    const settings = stage.functionClasses[functionClassOf(endpoint)];
    const fn = new ServiceFunction(this, endpoint.id, {
      entry: path.resolve(repoRoot, endpoint.entry),
      description: `${endpoint.method} ${endpoint.path}: ${endpoint.summary}`.slice(0, 256),
      memorySize: settings.memorySize,
      timeout: Duration.seconds(settings.timeoutSeconds),
      ...(settings.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: settings.reservedConcurrency }),
      ...(props.logEncryptionKey === undefined ? {} : { logEncryptionKey: props.logEncryptionKey }),
      logRetention: stage.logRetention,
      logRemovalPolicy: stage.removalPolicy,
      logLevel: stage.logLevel,
      environment: {
        ...(endpoint.scopes === null ? {} : authEnvironment(auth)),
        ...(stage.corsOrigins.length === 0 ? {} : { CORS_ALLOWED_ORIGINS: stage.corsOrigins.join(',') }),
      },
    });
    const tableAccess = tableAccessOf(endpoint);
    if (tableAccess !== undefined) fn.bindTable(props.table, tableAccess);
    if (endpoint.access.bus !== undefined) fn.bindBus(props.eventBus, endpoint.access.bus);
    return fn;
  }

  /**
   * API Gateway's own answers as problem bodies, with the security headers the functions
   * send and the caller's `x-request-id` echoed (API Gateway's request id is in the body):
   * over a limit (429 with `Retry-After`, API.md Throttling), no such resource, a body over
   * its limit, a function that failed or timed out.
   */
  private addThrottleResponses(): void {
    const headers = {
      'X-Content-Type-Options': "'nosniff'",
      'Strict-Transport-Security': "'max-age=15552000; includeSubDomains'",
      'X-Frame-Options': "'DENY'",
      'Referrer-Policy': "'no-referrer'",
      'x-request-id': 'method.request.header.x-request-id',
    };
    const problem = (slug: string, title: string, status: string): string =>
      `{"type":"${problemTypeBase}${slug}","title":"${title}","status":${status},"detail":$context.error.messageString,"requestId":"$context.requestId"}`;
    const responses = [
      ['Throttled', ResponseType.THROTTLED, '429', 'too-many-requests', 'Too Many Requests', '1'],
      ['QuotaExceeded', ResponseType.QUOTA_EXCEEDED, '429', 'too-many-requests', 'Quota Exceeded', '3600'],
      // An unknown path or method: API Gateway says 403 "Missing Authentication Token".
      ['NoSuchResource', ResponseType.MISSING_AUTHENTICATION_TOKEN, '404', 'not-found', 'Not Found', undefined],
      ['InvalidApiKey', ResponseType.INVALID_API_KEY, '403', 'forbidden', 'Forbidden', undefined],
      ['RequestTooLarge', ResponseType.REQUEST_TOO_LARGE, '413', 'payload-too-large', 'Content Too Large', undefined],
      ['IntegrationFailure', ResponseType.INTEGRATION_FAILURE, '502', 'internal', 'Bad Gateway', undefined],
      ['IntegrationTimeout', ResponseType.INTEGRATION_TIMEOUT, '504', 'internal', 'Gateway Timeout', undefined],
      ['ConfigurationError', ResponseType.API_CONFIGURATION_ERROR, '500', 'internal', 'Internal Server Error', undefined],
    ] as const;
    for (const [id, type, statusCode, slug, title, retryAfter] of responses) {
      this.api.addGatewayResponse(id, {
        type,
        statusCode,
        responseHeaders: {
          ...headers,
          'Content-Type': "'application/problem+json'",
          ...(retryAfter === undefined ? {} : { 'Retry-After': `'${retryAfter}'` }),
        },
        templates: { 'application/json': problem(slug, title, statusCode) },
      });
    }
    // Anything else API Gateway refuses keeps its own body (a template cannot know its
    // status) but gets the same headers.
    for (const [id, type] of [
      ['Default4xx', ResponseType.DEFAULT_4XX],
      ['Default5xx', ResponseType.DEFAULT_5XX],
    ] as const) {
      this.api.addGatewayResponse(id, { type, responseHeaders: headers });
    }
  }

  private acknowledgeNagFindings(): void {
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Bodies, parameters and queries are validated in the function by the zod schemas of the endpoint table, which also produce the OpenAPI document and answer with problem+json; a second validator here would drift from them.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Abuse is bounded by stage, per-method and usage-plan throttles; a WAF web ACL is an account-level choice a deployment can associate with the stage.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Authorization is a JWT check in every /v1 function (JWKS, iss, aud, exp, scopes, tenant); health and the OpenAPI document are public by contract (API.md, Auth).',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'Tokens come from the deployment\'s identity provider through its JWKS, not from a Cognito user pool.',
      },
    );
  }
}
