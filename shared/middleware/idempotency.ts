/**
 * Idempotent writes (API.md, "Idempotency"): a write repeated with the same
 * `Idempotency-Key` and body gets the first response back and commits nothing; the same
 * key with another body is refused with 422. Built on Powertools' `makeHandlerIdempotent`,
 * its records kept in the single table, each in its own partition
 * (`PK = IDEMPOTENCY#<endpoint id>#<hash of the key>`, `SK = IDEMPOTENCY`), expiring after
 * 24 hours through the table's TTL attribute.
 *
 * Usage: `httpHandler({ endpoint, run, idempotency: idempotency(endpoint.id) })`. The
 * middleware throws `HttpError`s itself (422 for a key reused with another body, 409 while
 * the first request is still running, 503 when the table pushes back), so the factory's
 * error mapper needs nothing more; `toHttpError` is exported for any other caller.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { MiddlewareObj, Request } from '@middy/core';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { dynamoDbClient, tableName } from '../clients/dynamodb.ts';
import { REPLAYED_HEADER } from '../http/headers.ts';
import {
  ConflictError,
  UnprocessableContentError,
  ValidationError,
  type HttpError,
} from '../errors/http-errors.ts';
import { RETRY_AFTER_SECONDS } from '../errors/http-errors.ts';
import { dynamoDbHttpError } from '../store/dynamodb-errors.ts';
import { logger } from '../observability.ts';

/** How long a key is remembered. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** The request header, lower-cased as the factory's header normaliser leaves it. */
const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * The key (the contract's "Idempotency keys"): tenant, caller (`sub`, put where an authorizer's
 * principal goes by the handler factory), method and the normalised path (the resource
 * template and the decoded path parameters, so `/routes/%73vc` and `/routes/svc` are one
 * path), and the caller's key. The same key from another caller, or for another route, is
 * another key. Null when the header is absent, which turns idempotency off.
 */
const EVENT_KEY_JMESPATH = `headers."${IDEMPOTENCY_HEADER}" && [pathParameters.tenant, requestContext.authorizer.principalId, httpMethod, resource, pathParameters.service, pathParameters.env, pathParameters.version, headers."${IDEMPOTENCY_HEADER}"]`;

const keyPattern = /^[\x21-\x7e]{1,255}$/;

type HttpMiddleware = MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult>;
type HttpRequest = Request<APIGatewayProxyEvent, APIGatewayProxyResult>;

/** Invocations (by Lambda context) that hold an in-progress record they may delete on failure. */
const owners = new WeakSet<object>();

/** The sort key of every idempotency record: the partition key alone identifies it. */
export const IDEMPOTENCY_SORT_KEY = 'IDEMPOTENCY';

/**
 * On a table with a sort key, Powertools puts every record under one static partition key,
 * so all idempotent writes of an endpoint, across every tenant, would share one DynamoDB
 * partition (about 1 000 writes a second). `getKey` is Powertools' documented protected
 * hook for the key shape: here each record gets a partition of its own.
 */
class PartitionPerKeyPersistenceLayer extends DynamoDBPersistenceLayer {
  protected override getKey(idempotencyKey: string): Record<string, AttributeValue> {
    return marshall({ PK: `IDEMPOTENCY#${idempotencyKey}`, SK: IDEMPOTENCY_SORT_KEY });
  }
}

/**
 * The idempotency middleware of one write endpoint. Created once per execution environment
 * (module scope of the handler), like the client it uses.
 */
export function idempotency(endpointId: string): HttpMiddleware {
  const persistenceStore = new PartitionPerKeyPersistenceLayer({
    tableName,
    keyAttr: 'PK',
    sortKeyAttr: 'SK',
    expiryAttr: 'expiresAt',
    awsSdkV3Client: dynamoDbClient,
  });
  const config = new IdempotencyConfig({
    eventKeyJmesPath: EVENT_KEY_JMESPATH,
    throwOnNoIdempotencyKey: false,
    // The raw body: the same key with any other body is a different request.
    payloadValidationJmesPath: 'body',
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
  });
  const inner = makeHandlerIdempotent({ persistenceStore, config, keyPrefix: endpointId });

  return {
    before: async (request: HttpRequest) => {
      owners.delete(request.context);
      const key = request.event.headers[IDEMPOTENCY_HEADER];
      if (key !== undefined && !keyPattern.test(key)) {
        throw new ValidationError('Invalid Idempotency-Key header.', [
          { path: `header.${IDEMPOTENCY_HEADER}`, message: 'must be 1 to 255 visible ASCII characters' },
        ]);
      }
      // The middleware registers the Lambda context itself (for the in-progress expiry).
      const replayed = (await mapped(() => inner.before?.(request))) as APIGatewayProxyResult | undefined;
      if (replayed !== undefined) return replay(replayed);
      owners.add(request.context);
      return undefined;
    },
    after: async (request: HttpRequest) => {
      // Once the handler succeeded, a failure to store its result must not delete the
      // record (the write would run again), nor turn the committed write into an error:
      // the caller gets its answer; a repeat meanwhile gets 409 until the record expires.
      owners.delete(request.context);
      try {
        await inner.after?.(request);
      } catch (error) {
        logger.error('could not store the idempotent response', error instanceof Error ? error : String(error));
      }
    },
    onError: async (request: HttpRequest) => {
      // Powertools 2.35 deletes the record on any error, even when its own `before` refused
      // the request (a duplicate in progress, a different body): that would delete the
      // original's record (powertools-lambda-typescript#5675). Only the invocation that
      // acquired the record releases it, and only when its handler failed.
      if (!owners.delete(request.context)) return;
      try {
        await inner.onError?.(request);
      } catch (error) {
        // The caller already has its problem response (the error mapper ran first); the
        // record stays in progress until it expires, and a retry meanwhile gets 409.
        logger.error('could not release the idempotency record', error instanceof Error ? error : String(error));
      }
    },
  };
}

/** Runs a step of the Powertools middleware, turning its errors into `HttpError`s. */
async function mapped<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw toHttpError(error) ?? error;
  }
}

/**
 * A stored response, as the first request got it, marked as a replay. The factory adds
 * this request's id and the security headers (shared/middleware/http-handler.ts).
 */
function replay(stored: APIGatewayProxyResult): APIGatewayProxyResult {
  return { ...stored, headers: { ...stored.headers, [REPLAYED_HEADER]: 'true' } };
}

/**
 * The `HttpError` for an error of the idempotency utility, or undefined for any other
 * error. The handler factory's error mapper calls this before deciding on a 500.
 */
export function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof IdempotencyValidationError) {
    return new UnprocessableContentError(
      'This Idempotency-Key was already used with a different request body.',
      { cause: error },
    );
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new ConflictError('A request with this Idempotency-Key is still in progress; retry later.', {
      cause: error,
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
  }
  if (error instanceof IdempotencyPersistenceLayerError) {
    return dynamoDbHttpError(error.cause);
  }
  return undefined;
}
