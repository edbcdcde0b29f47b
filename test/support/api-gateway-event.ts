/**
 * The one fixture for invoking wrapped HTTP handlers: API Gateway REST (v1) proxy events as
 * API Gateway sends them, and a Lambda context. Each call gets fresh ids, so the handler
 * factory's per-invocation state never leaks between calls.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { callerIdentity, invocationContext } from '#local/lambda-runtime';

export interface ApiGatewayEventOptions {
  method: string;
  /** The concrete path, without the stage: `/v1/tenants/acme/routes/checkout/prod`. */
  path: string;
  /** Values by template name; also used to derive `resource` when it is not given. */
  pathParameters?: Record<string, string>;
  /** The path template (`/v1/tenants/{tenant}/routes`); derived from `pathParameters` if absent. */
  resource?: string;
  /** Request headers as the client sent them (any case). */
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** A string is sent as is; anything else as JSON, with `Content-Type: application/json`. */
  body?: unknown;
  stage?: string;
  sourceIp?: string;
}

/** Replaces each segment that equals a path parameter's value with `{name}`, in order. */
function resourceOf(path: string, pathParameters: Record<string, string>): string {
  const remaining = Object.entries(pathParameters);
  return path
    .split('/')
    .map((segment) => {
      const index = remaining.findIndex(([, value]) => encodeURIComponent(value) === segment);
      if (index === -1) return segment;
      const [name] = remaining.splice(index, 1)[0] ?? [];
      return `{${name}}`;
    })
    .join('/');
}

export function apiGatewayEvent(options: ApiGatewayEventOptions): APIGatewayProxyEvent {
  const stage = options.stage ?? 'prod';
  const sourceIp = options.sourceIp ?? '203.0.113.10';
  const requestId = randomUUID();
  const now = new Date();
  const jsonBody = options.body !== undefined && typeof options.body !== 'string';
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: 'abc123defg.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'traffic-manager-tests/1.0',
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    'X-Forwarded-For': sourceIp,
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...(jsonBody ? { 'Content-Type': 'application/json' } : {}),
    ...options.headers,
  };
  const query = options.query ?? null;
  const pathParameters = options.pathParameters ?? null;
  const resource = options.resource ?? resourceOf(options.path, options.pathParameters ?? {});
  const body =
    options.body === undefined ? null : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return {
    resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: query,
    multiValueQueryStringParameters:
      query === null ? null : Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]])),
    pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123defg',
      authorizer: null,
      domainName: 'abc123defg.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123defg',
      extendedRequestId: randomUUID().slice(0, 16),
      httpMethod: options.method,
      identity: callerIdentity(sourceIp, headers['User-Agent'] ?? null),
      path: `/${stage}${options.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'a1b2c3',
      resourcePath: resource,
      stage,
    },
    body,
    isBase64Encoded: false,
  };
}

/** A Lambda context as the runtime passes it; a new object (and request id) per call. */
export function lambdaContext(overrides: Partial<Context> = {}): Context {
  return {
    // A generous deadline: tests assert correctness on a shared, busy emulator, not latency,
    // and Powertools idempotency takes its in-progress expiry from the remaining time.
    ...invocationContext({ functionName: 'traffic-manager-test-function', accountId: '123456789012', timeoutMs: 60_000 }),
    ...overrides,
  };
}
