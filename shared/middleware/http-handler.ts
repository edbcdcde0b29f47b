/**
 * The handler factory: every HTTP function is `httpHandler({ endpoint, run })`. It composes,
 * in a fixed order, tracing, logging with the request id, metrics, security headers, CORS
 * where configured, authentication and authorisation from the endpoint table, body and
 * parameter parsing with the endpoint's zod schemas, and the error mapper, which is
 * registered last so that its `onError` runs first. No handler calls `.use` itself.
 */
import middy, { type MiddlewareObj } from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpSecurityHeaders from '@middy/http-security-headers';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as z from '../zod.ts';
import { authenticate, authorize, verifierOnce } from '../auth/authorizer.ts';
import type { Principal } from '../auth/principal.ts';
import { runWithin } from '../clients/deadline.ts';
import { httpEnv, parseEnv } from '../config.ts';
import { HttpError, OutcomeUnknownError, RETRY_AFTER_SECONDS, ServiceUnavailableError } from '../errors/http-errors.ts';
import type { EndpointDefinition } from '../http/endpoints.ts';
import { parseOrThrow } from '../http/validation.ts';
import { metricNames } from '../metric-names.ts';
import { logger, metrics, tracer } from '../observability.ts';
import { parseJsonBody } from './json-body.ts';
import { problemResponse } from './problem.ts';

const { CORS_ALLOWED_ORIGINS } = parseEnv(httpEnv);

type Infer<S> = S extends z.ZodMiniType ? z.infer<S> : undefined;

/** What a handler's `run` receives: validated input, the caller, and request metadata. */
export interface HttpInput<E extends EndpointDefinition> {
  params: Infer<E['params']>;
  query: Infer<E['query']>;
  body: Infer<E['body']>;
  /** Request headers, names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The verified caller; undefined only on endpoints that need no token. */
  principal: E['scopes'] extends null ? undefined : Principal;
  /** Issued by the server (API Gateway's request id): unique, never chosen by the caller. */
  requestId: string;
  /** The caller's `x-request-id`, when it sent a sane one. */
  correlationId: string | undefined;
  /** Epoch milliseconds by which the answer is due: the function's time, less a margin. */
  deadline: number;
  event: APIGatewayProxyEvent;
}

export interface HttpResult {
  status: number;
  /** Serialised as JSON; omit for an empty body (204, 304). */
  body?: unknown;
  headers?: Record<string, string>;
}

export type HttpHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

/**
 * Per-invocation state the middlewares hand to each other in Middy's `request.internal`, and
 * to the handler through the context (Middy's way: handlers see only event and context).
 */
interface RequestState {
  requestId: string;
  correlationId: string | undefined;
  principal?: Principal;
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

/** Visible ASCII, no spaces: safe to echo in a header and to log (X-Ray `Root=1-…` ids pass). */
const requestIdPattern = /^[\x21-\x7e]{1,200}$/;

/** The caller's `x-request-id` if it is sane enough to echo and log, else undefined. */
export function callerRequestId(given: string | undefined): string | undefined {
  return given !== undefined && requestIdPattern.test(given) ? given : undefined;
}

/** Time kept back from the function's timeout to answer after the last AWS call gives up. */
const ANSWER_MARGIN_MS = 500;

interface HttpInternal extends Record<string, unknown> {
  requestState?: RequestState;
}

/** The handler's context: the Lambda context, and the state the middlewares prepared. */
interface HttpContext extends Context {
  requestState?: RequestState;
}

type HttpMiddleware = MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, HttpContext, HttpInternal>;
type HttpRequest = Parameters<NonNullable<HttpMiddleware['before']>>[0];

function stateOf(request: HttpRequest): RequestState {
  const { internal, event } = request;
  internal.requestState ??= {
    requestId: event.requestContext.requestId,
    correlationId: callerRequestId(event.headers['x-request-id']),
  };
  return internal.requestState;
}

/** Sets the correlation id and echoes it on every response, success or problem. */
const requestIdMiddleware = (): HttpMiddleware => ({
  before: (request) => {
    const { requestId, correlationId } = stateOf(request);
    logger.appendKeys({ correlation_id: correlationId ?? requestId, request_id: requestId });
    // Counted on the way in, so even a response that ends the chain early is counted.
    metrics.addMetric(metricNames.requests, 'Count', 1);
  },
  after: (request) => {
    if (request.response) {
      const { requestId, correlationId } = stateOf(request);
      request.response.headers = { ...request.response.headers, 'x-request-id': correlationId ?? requestId };
    }
  },
});

/**
 * Writes with an `Idempotency-Key` only: the caller's `sub` where API Gateway puts an
 * authorizer's principal, which the idempotency key reads (shared/middleware/idempotency.ts).
 */
const principalForIdempotency = (): HttpMiddleware => ({
  before: (request) => {
    const { principal } = stateOf(request);
    const { requestContext } = request.event;
    if (principal !== undefined) requestContext.authorizer = { ...requestContext.authorizer, principalId: principal.sub };
  },
});

/** Registered last, so its `onError` runs first: every error becomes a problem body. */
const errorMapper = (): HttpMiddleware => ({
  onError: (request) => {
    const { error, event } = request;
    const { requestId, correlationId } = stateOf(request);
    if (error instanceof HttpError && error.status < 500) {
      metrics.addMetric(metricNames.clientErrors, 'Count', 1);
      logger.info('request refused', {
        status: error.status,
        reason: error.message,
        cause: error.cause instanceof Error ? error.cause.message : error.cause,
      });
    } else if (error instanceof HttpError) {
      // A 5xx we chose (a dependency down, nothing to route to): an operational state.
      metrics.addMetric(metricNames.serverErrors, 'Count', 1);
      logger.warn('request not served', {
        status: error.status,
        reason: error.message,
        cause: error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : error.cause,
      });
    } else {
      if (error instanceof Error) logger.error('request failed', error);
      else logger.error('request failed', { error: String(error) });
      metrics.addMetric(metricNames.serverErrors, 'Count', 1);
    }
    // Set, don't return: returning would stop the later onError middlewares (headers, logs).
    request.response = problemResponse(error, requestId, event.path, correlationId);
  },
});

/**
 * Middy skips every `after` when a `before` answers early (an idempotent replay), so the
 * headers every response must carry are added here from the same middlewares.
 */
function finishingEarlyResponses(
  middleware: MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult>,
  finishers: HttpMiddleware[],
): HttpMiddleware {
  return {
    ...middleware,
    before: async (request) => {
      const early = (await middleware.before?.(request)) as APIGatewayProxyResult | undefined;
      if (early === undefined) return undefined;
      request.response = early;
      for (const finisher of finishers) await finisher.after?.(request);
      return request.response;
    },
  };
}

/** Authenticates and authorises from the endpoint table, then validates path, query, body. */
function inputMiddleware(endpoint: EndpointDefinition): HttpMiddleware {
  return {
    before: async (request) => {
      const { event } = request;
      const state = stateOf(request);
      const headers = event.headers as Record<string, string | undefined>;
      if (endpoint.scopes !== null) {
        state.principal = await authenticate(headers.authorization);
        authorize(state.principal, endpoint, event.pathParameters?.tenant);
      }
      state.params = endpoint.params
        ? parseOrThrow(endpoint.params, event.pathParameters ?? {}, 'path parameters', 'path')
        : undefined;
      // A parameter the endpoint does not know is refused, never ignored: a caller trying
      // `?dryRun=true` on a write must not have it committed for real.
      const query = parseOrThrow(endpoint.query ?? noQuery, event.queryStringParameters ?? {}, 'query parameters', 'query');
      state.query = endpoint.query ? query : undefined;
      state.body = endpoint.body ? parseOrThrow(endpoint.body, parseJsonBody(event), 'request body') : undefined;
      request.context.requestState = state;
    },
  };
}

/**
 * Builds the Lambda handler for one endpoint of the endpoint table. `run` gets validated,
 * typed input and returns status, body and headers; everything else is done here.
 * `idempotency` (writes) replays the first response to a repeated `Idempotency-Key`; it sits
 * after authentication and validation so that nothing unauthorised or invalid is replayed.
 */
export function httpHandler<E extends EndpointDefinition>(options: {
  endpoint: E;
  run: (input: HttpInput<E>) => Promise<HttpResult>;
  idempotency?: MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult>;
}): HttpHandler {
  const { endpoint, run } = options;
  if (endpoint.scopes !== null) verifierOnce();

  const core = async (event: APIGatewayProxyEvent, context: HttpContext): Promise<APIGatewayProxyResult> => {
    const state = context.requestState;
    // Set by the input middleware, which always runs before the handler.
    if (state === undefined) throw new Error('httpHandler: the handler ran before the input middleware');
    const result = await run({
      params: state.params,
      query: state.query,
      body: state.body,
      headers: event.headers as Record<string, string | undefined>,
      principal: state.principal,
      requestId: state.requestId,
      correlationId: state.correlationId,
      deadline: deadlineOf(context),
      event,
    } as HttpInput<E>);
    return {
      statusCode: result.status,
      headers: {
        ...(result.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...result.headers,
      },
      body: result.body === undefined ? '' : JSON.stringify(result.body),
    };
  };

  const securityHeaders = httpSecurityHeaders();
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, HttpContext, HttpInternal>(core, {
    // Middy answers for a handler still running just before Lambda's timeout. The calls
    // inside stop at the request's deadline first, so this is the last resort: a write
    // that got this far may have committed, anything else committed nothing.
    timeoutEarlyResponse: () => {
      throw endpoint.access.table === 'readWrite'
        ? new OutcomeUnknownError('The function ran out of time while the change was being made; whether it was committed is unknown. Read the revisions of the route: the one this request wrote, if it committed, carries the requestId of this answer. A retry (with or without the same Idempotency-Key) runs the write again.', RETRY_AFTER_SECONDS)
        : new ServiceUnavailableError('The function ran out of time; retry later.', RETRY_AFTER_SECONDS);
    },
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(securityHeaders)
    .use(httpHeaderNormalizer({ canonical: false }));
  const cors = CORS_ALLOWED_ORIGINS.length > 0 ? httpCors({ origins: CORS_ALLOWED_ORIGINS }) : undefined;
  if (cors !== undefined) handler.use(cors);
  const requestIds = requestIdMiddleware();
  handler.use(requestIds).use(inputMiddleware(endpoint));
  if (options.idempotency !== undefined) {
    const finishers = cors === undefined ? [requestIds, securityHeaders] : [requestIds, cors, securityHeaders];
    handler.use(principalForIdempotency()).use(finishingEarlyResponses(options.idempotency, finishers));
  }
  handler.use(errorMapper());
  // Every AWS call of the invocation, middlewares' included, gives up in time to answer.
  return (event, context) => runWithin(deadlineOf(context), () => handler(event, context));
}

function deadlineOf(context: Context): number {
  return Date.now() + context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS;
}

/** The query of an endpoint that takes none: every parameter is unknown. */
const noQuery = z.strictObject({});
