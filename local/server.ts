/**
 * The local API Gateway: an HTTP server whose routes come from the endpoint table. Each
 * request becomes a genuine REST API (v1 payload) proxy event with a Lambda context, the
 * endpoint's handler is invoked as Lambda would, and its result is written back.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import middy from '@middy/core';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  TooManyRequestsError,
  NotFoundError,
  PayloadTooLargeError,
  type HttpError,
} from '#shared/errors/http-errors';
import { endpointList, throttles, type EndpointDefinition, type Throttle } from '#shared/http/endpoints';
import { callerRequestId } from '#shared/middleware/http-handler';
import { problemResponse } from '#shared/middleware/problem';
import { GatewayTimeoutError, HeaderFieldsTooLargeError, MalformedRequestError } from './gateway-errors.ts';
import { callerIdentity, installInvokeStore, invocationContext, runInvocation } from './lambda-runtime.ts';
import { repoRoot } from './paths.ts';
import { takeFromAll, TokenBucket } from './rate-limiter.ts';

export const localStage = 'local';
/** API Gateway's own limit on a request body. */
const maxRequestBytes = 10 * 1024 * 1024;
/** API Gateway's integration timeout: a function that has not answered by then gets the caller a 504. */
export const integrationTimeoutMs = 29_000;
/**
 * The local functions' timeout: 25 s, not the deployed 10 s, because the emulator answers
 * one request at a time, so under a burst (tests, fuzzing) a correct call can wait its turn
 * for seconds; and below the integration timeout, as in AWS, so that a function answers
 * (503 at its deadline, at worst) before the gateway gives up on it with a 504.
 */
export const localFunctionTimeoutMs = 25_000;
/**
 * Node refuses more than 16 KiB of headers and URL with an empty 431; take up to 64 KiB so
 * that an oversized query reaches validation and gets a problem body (and past that, the
 * 431 is a problem body too).
 */
export const maxHeaderBytes = 64 * 1024;
/**
 * Invocations running at once in the local stack, at most; the rest wait their turn in the
 * gateway (within the integration timeout). In AWS every concurrent invocation has an
 * execution environment, and so SDK clients and sockets, of its own; here they all share one
 * process's clients, whose socket pool (the SDK's default: 50 per client) would queue the
 * overflow, and a request waiting there for a socket counts against the SDK's 1 s connection
 * timeout: a burst of a thousand requests got 503s for it (issue 7).
 */
export const maxConcurrentInvocations = 48;

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

interface CompiledRoute {
  endpoint: EndpointDefinition;
  pattern: RegExp;
  names: string[];
  bucket: TokenBucket;
}

export interface LocalServerOptions {
  port?: number;
  host?: string;
  endpoints?: readonly EndpointDefinition[];
  /** Apply the endpoint table's throttles (default true). */
  throttle?: boolean;
  /** Milliseconds for the token buckets (default `performance.now`); tests pass a manual clock. */
  clock?: () => number;
  /** The stage-wide limit every method also counts against (default `throttles.stage`). */
  stageThrottle?: Throttle;
  /** How long a function may take before the caller gets 504 (default `integrationTimeoutMs`). */
  integrationTimeoutMs?: number;
  /** Invocations at once, at most (default `maxConcurrentInvocations`). */
  maxConcurrentInvocations?: number;
}

/** A counting semaphore: `run` waits for one of `limit` slots, in arrival order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.free = limit;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.free += 1;
      else next();
    }
  }
}

export interface LocalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function compile(endpoint: EndpointDefinition, clock?: () => number): CompiledRoute {
  const names: string[] = [];
  const source = endpoint.path
    .split('/')
    .map((segment) => {
      const match = /^\{(\w+)\}$/.exec(segment);
      if (match?.[1] === undefined) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(match[1]);
      return '([^/]+)';
    })
    .join('/');
  return { endpoint, pattern: new RegExp(`^${source}$`), names, bucket: new TokenBucket(endpoint.throttle, clock) };
}

/** The first route whose path pattern matches, with its captured path values. */
function matchRoute(
  routes: readonly CompiledRoute[],
  pathname: string,
): { route: CompiledRoute; match: RegExpExecArray } | undefined {
  for (const route of routes) {
    const match = route.pattern.exec(pathname);
    if (match !== null) return { route, match };
  }
  return undefined;
}

const handlerCache = new Map<string, Promise<LambdaHandler>>();
/** The handlers already loaded, so that a warm request does not wait on a settled promise. */
const loadedHandlers = new Map<string, LambdaHandler>();

/** Loads a handler module once, as a Lambda execution environment would. */
function loadHandler(entry: string): Promise<LambdaHandler> {
  let handler = handlerCache.get(entry);
  if (handler === undefined) {
    const url = pathToFileURL(path.join(repoRoot, entry)).href;
    handler = import(url).then((module: { handler: LambdaHandler }) => {
      loadedHandlers.set(entry, module.handler);
      return module.handler;
    });
    handlerCache.set(entry, handler);
  }
  return handler;
}

/** Builds the REST API proxy event (payload v1) that API Gateway would send. */
export function toProxyEvent(
  request: IncomingMessage,
  url: URL,
  route: CompiledRoute,
  pathValues: string[],
  body: Buffer,
  requestId: string,
): APIGatewayProxyEvent {
  // Maps, not object literals: a header or parameter named `constructor` or `__proto__`
  // must stay data and never reach the prototype.
  const headers = new Map<string, string>();
  const multiValueHeaders = new Map<string, string[]>();
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] ?? '';
    const value = request.rawHeaders[i + 1] ?? '';
    headers.set(name, value);
    appendTo(multiValueHeaders, name, value);
  }
  const query = new Map<string, string>();
  const multiValueQuery = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    query.set(name, value);
    appendTo(multiValueQuery, name, value);
  }
  const pathParameters = new Map<string, string>();
  route.names.forEach((name, index) => {
    pathParameters.set(name, decodePathValue(pathValues[index] ?? ''));
  });
  const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
  const hasQuery = query.size > 0;
  return {
    resource: route.endpoint.path,
    path: url.pathname,
    httpMethod: route.endpoint.method,
    headers: Object.fromEntries(headers),
    multiValueHeaders: Object.fromEntries(multiValueHeaders),
    queryStringParameters: hasQuery ? Object.fromEntries(query) : null,
    multiValueQueryStringParameters: hasQuery ? Object.fromEntries(multiValueQuery) : null,
    pathParameters: route.names.length > 0 ? Object.fromEntries(pathParameters) : null,
    stageVariables: null,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: route.endpoint.method,
      path: `/${localStage}${url.pathname}`,
      stage: localStage,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.endpoint.id,
      resourcePath: route.endpoint.path,
      identity: callerIdentity(sourceIp, request.headers['user-agent'] ?? null),
    },
  };
}

function appendTo(multiValues: Map<string, string[]>, name: string, value: string): void {
  const values = multiValues.get(name);
  if (values === undefined) multiValues.set(name, [value]);
  else values.push(value);
}

/** API Gateway passes path parameters decoded; a malformed escape stays as it was sent. */
function decodePathValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function lambdaContext(endpoint: EndpointDefinition, requestId: string): Context {
  return invocationContext({ functionName: `traffic-manager-local-${endpoint.id}`, requestId, timeoutMs: localFunctionTimeoutMs });
}

const noBody = Buffer.alloc(0);

/** HTTP/1.1 framing: without either header a request has no body (a GET, mostly). */
function hasBody(request: IncomingMessage): boolean {
  return request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
}

/**
 * The request body, or undefined when it is over the limit. An oversized body is still
 * read to its end (and dropped), so that the connection stays usable for the caller's next
 * request: leaving the loop early would destroy the socket under a keep-alive client.
 */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= maxRequestBytes) chunks.push(buffer);
  }
  return size > maxRequestBytes ? undefined : Buffer.concat(chunks);
}

/** The handler's result, or a 504 once the integration timeout passes (the function may run on, as in AWS). */
async function withIntegrationTimeout(
  invocation: Promise<APIGatewayProxyResult>,
  timeoutMs: number,
): Promise<APIGatewayProxyResult | GatewayTimeoutError> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<GatewayTimeoutError>((resolve) => {
    timer = setTimeout(
      () => resolve(new GatewayTimeoutError(`The function did not answer within ${timeoutMs} ms.`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([invocation, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes the function's result as API Gateway does: its headers, and a Content-Length (a
 * body of known length, never chunked; none on a 204 or 304, which have no body).
 */
function writeResult(response: ServerResponse, result: APIGatewayProxyResult): void {
  // A flat list of names and values: cheaper for Node than an object. A name in both
  // `headers` and `multiValueHeaders` takes the latter's values.
  const multiValueHeaders = result.multiValueHeaders ?? {};
  const multiValueNames = new Set(Object.keys(multiValueHeaders).map((name) => name.toLowerCase()));
  const headers: string[] = [];
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    const lowerCase = name.toLowerCase();
    if (!multiValueNames.has(lowerCase) && lowerCase !== 'content-length') headers.push(name, String(value));
  }
  for (const [name, values] of Object.entries(multiValueHeaders)) {
    if (name.toLowerCase() !== 'content-length') for (const value of values) headers.push(name, String(value));
  }
  // `body` is typed as always there, but a handler may leave it out: send it empty, as before.
  const text = (result.body as string | undefined) ?? '';
  const body = result.isBase64Encoded === true ? Buffer.from(text, 'base64') : text;
  if (result.statusCode !== 204 && result.statusCode !== 304) {
    headers.push('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.length));
  }
  response.writeHead(result.statusCode, headers);
  response.end(body);
}

interface Refusal {
  error: HttpError | unknown;
  /** The gateway's own id of the request (API Gateway's `$context.requestId`). */
  requestId: string;
  /** The caller's `x-request-id`, when it sent a sane one. */
  correlationId?: string | undefined;
  instance: string;
}

/**
 * API Gateway's own answers (no such resource, throttled): problem bodies with the same
 * security headers as the functions' responses (the deployed API sets them as gateway
 * response headers).
 */
const gatewayResponse = middy<Refusal, APIGatewayProxyResult>(async (refusal: Refusal) =>
  problemResponse(refusal.error, refusal.requestId, refusal.instance, refusal.correlationId),
).use(httpSecurityHeaders());

/** The caller's `x-request-id` when it is sane (as the handler factory reads it). */
function correlationIdOf(request: IncomingMessage): string | undefined {
  const given = request.headers['x-request-id'];
  return callerRequestId(typeof given === 'string' ? given : undefined);
}

async function refuse(
  request: IncomingMessage,
  response: ServerResponse,
  error: unknown,
  requestId: string,
  instance: string,
): Promise<void> {
  const refusal = { error, requestId, correlationId: correlationIdOf(request), instance };
  writeResult(response, await gatewayResponse(refusal, {} as Context));
}

/**
 * The raw HTTP answer to a request Node could not parse (no `IncomingMessage` exists): a
 * problem body with the security headers and a fresh `x-request-id`, then the connection
 * closes, since what follows on it cannot be trusted.
 */
async function refuseUnparsed(socket: Socket, error: HttpError): Promise<void> {
  const requestId = randomUUID();
  const result = await gatewayResponse({ error, requestId, instance: '/' }, {} as Context);
  const body = Buffer.from(result.body);
  const headers = { ...result.headers, 'x-request-id': requestId, 'content-length': body.length, connection: 'close' };
  const head = [
    `HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode] ?? ''}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`),
  ].join('\r\n');
  if (socket.writable) socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]));
  else socket.destroy();
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const routes = (options.endpoints ?? endpointList).map((endpoint) => compile(endpoint, options.clock));
  const routesByMethod: ReadonlyMap<string, CompiledRoute[]> = Map.groupBy(routes, (route) => route.endpoint.method);
  const throttle = options.throttle ?? true;
  const stageBucket = new TokenBucket(options.stageThrottle ?? throttles.stage, options.clock);
  const timeoutMs = options.integrationTimeoutMs ?? integrationTimeoutMs;
  const invocationSlots = new Slots(options.maxConcurrentInvocations ?? maxConcurrentInvocations);
  installInvokeStore();

  const server = createServer({ maxHeaderSize: maxHeaderBytes }, (request, response) => {
    const requestId = randomUUID();
    handle(request, response, requestId).catch(async (error: unknown) => {
      // A function that throws (API Gateway answers 502), or the gateway itself failing:
      // a 500 problem with only the request id, and the server keeps serving.
      console.error('local API request failed', error);
      if (!response.headersSent) await refuse(request, response, error, requestId, request.url ?? '/');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const found = matchRoute(routesByMethod.get(request.method ?? '') ?? [], url.pathname);
    if (found === undefined) {
      const otherMethods = matchRoute(routes, url.pathname) !== undefined;
      const error = new NotFoundError(otherMethods ? `${request.method} is not supported here.` : 'No such resource.');
      await refuse(request, response, error, requestId, url.pathname);
      return;
    }
    if (throttle) {
      const wait = takeFromAll([found.route.bucket, stageBucket]);
      if (wait > 0) {
        await refuse(request, response, new TooManyRequestsError(wait), requestId, url.pathname);
        return;
      }
    }
    const body = hasBody(request) ? await readBody(request) : noBody;
    if (body === undefined) {
      const error = new PayloadTooLargeError(`API Gateway accepts at most ${maxRequestBytes} bytes.`);
      await refuse(request, response, error, requestId, url.pathname);
      return;
    }
    const event = toProxyEvent(request, url, found.route, found.match.slice(1), body, requestId);
    const { entry } = found.route.endpoint;
    const handler = loadedHandlers.get(entry) ?? (await loadHandler(entry));
    const invocation = invocationSlots.run(() => {
      const context = lambdaContext(found.route.endpoint, requestId);
      return runInvocation(context, () => handler(event, context));
    });
    const result = await withIntegrationTimeout(invocation, timeoutMs);
    if (result instanceof GatewayTimeoutError) await refuse(request, response, result, requestId, url.pathname);
    else writeResult(response, result);
  }
  // A connection idle between requests is closed after 5 s; a client must send its headers
  // within 30 s and its whole request within 60 s (slow clients cannot hold sockets forever).
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const refusal =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new HeaderFieldsTooLargeError(`The request line and headers may take at most ${maxHeaderBytes} bytes.`)
        : error.code === 'ECONNRESET' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? undefined
          : new MalformedRequestError('The request is not valid HTTP/1.1.');
    if (refusal === undefined) socket.destroy();
    else void refuseUnparsed(socket, refusal).catch(() => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
