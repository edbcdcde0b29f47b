/**
 * What a DynamoDB failure means to a caller, decided after the SDK's own retries (standard
 * mode, with its retry quota) have given up. Errors are recognised by their `name` (the
 * service's error code), Node's network `code` and HTTP status; a message is read only for
 * a network code the SDK's wrapper kept nowhere else (see `networkCode`).
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PayloadTooLargeError, RETRY_AFTER_SECONDS, ServiceUnavailableError } from '../errors/http-errors.ts';


/** DynamoDB's item size limit (400 KB) and TransactWriteItems' limits. */
const MAX_ITEM_BYTES = 400 * 1024;
const MAX_TRANSACTION_ITEMS = 100;
const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/** The table pushed back: capacity, request rate or account limits. */
const throttlingCodes = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

/**
 * The service failed or did not answer. `TransactionInProgressException` belongs here: it
 * means an earlier attempt with the same client token (the SDK reuses it across its own
 * retries) is still running, so whether the write committed is unknown. Re-reading and
 * committing again could apply the change twice; the caller retries, with its
 * Idempotency-Key if it sent one.
 */
const unavailableCodes = new Set([
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * Network failures that happen before a request reaches the service: nothing was sent, so
 * nothing can have been done.
 */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

interface SdkErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The Node error code of a network failure. The SDK's retry middleware wraps an error it
 * does not recognise as an `Error` (one from another realm) into a new one that keeps only
 * the message (`AWS SDK error wrapper for Error: connect ECONNREFUSED ...`), so the message
 * is read too.
 */
function networkCode(error: SdkErrorLike): string | undefined {
  if (typeof error.code === 'string') return error.code;
  if (typeof error.message !== 'string') return undefined;
  return /\b(E[A-Z]{3,})\b/.exec(error.message)?.[1];
}

/** True when a request failed before reaching the service (refused, no route, no connection in time). */
function neverSent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { message, name } = error as SdkErrorLike;
  const code = networkCode(error as SdkErrorLike);
  if (code !== undefined && notSentCodes.has(code)) return true;
  // The SDK's connection timeout (@smithy/node-http-handler): no socket, nothing sent.
  return name === 'TimeoutError' && typeof message === 'string' && message.includes('did not establish a connection');
}

/**
 * What became of a write whose call failed with `error` (not a cancelled transaction: see
 * `cancellationCodes`):
 * - `not-sent`, `throttled`: nothing was committed;
 * - `failed-answer`: the service answered with a failure of its own (5xx); it is done with
 *   the request, which may or may not have committed;
 * - `no-answer`: sent, and no answer came (timeout, reset, abort; or a transaction with the
 *   same token still in progress): it may have committed, or may yet;
 * - undefined: the service refused the request as sent (a bug): nothing committed, and a
 *   retry would not help.
 */
export function sendFailure(error: unknown): 'not-sent' | 'throttled' | 'failed-answer' | 'no-answer' | undefined {
  if (neverSent(error)) return 'not-sent';
  const name = errorName(error);
  if (name !== undefined && throttlingCodes.has(name)) return 'throttled';
  if (name === 'TransactionInProgressException') return 'no-answer';
  const status = httpStatusOf(error);
  if (status !== undefined && status >= 500) return 'failed-answer';
  if (status !== undefined && status >= 400) return undefined;
  return 'no-answer';
}

function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name } = error as SdkErrorLike;
  return typeof name === 'string' ? name : undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as SdkErrorLike).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The `HttpError` a DynamoDB failure becomes, or undefined when it means nothing to a caller
 * (a bug, a missing table, bad credentials): those stay unknown and become a 500 that names
 * only the request id.
 */
export function dynamoDbHttpError(error: unknown): ServiceUnavailableError | undefined {
  const name = errorName(error);
  if (name !== undefined && throttlingCodes.has(name)) {
    return new ServiceUnavailableError('The route store is busy; retry later.', RETRY_AFTER_SECONDS, {
      cause: error,
    });
  }
  const status = httpStatusOf(error);
  if (
    (name !== undefined && unavailableCodes.has(name)) ||
    (status !== undefined && status >= 500) ||
    isNetworkFailure(error)
  ) {
    return new ServiceUnavailableError('The route store is unavailable; retry later.', RETRY_AFTER_SECONDS, {
      cause: error,
    });
  }
  return undefined;
}

/**
 * The call never got an answer: refused or reset connections, timeouts, and an abort at the
 * caller's deadline. None of these says anything about the request; all mean "unavailable".
 */
function isNetworkFailure(error: unknown): boolean {
  if (neverSent(error)) return true;
  const name = errorName(error);
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  if (typeof error !== 'object' || error === null) return false;
  const { message } = error as SdkErrorLike;
  // Only errors from below the SDK (sockets, aborts) are wrapped; service errors never are.
  if (typeof message === 'string' && message.startsWith('AWS SDK error wrapper for ')) return true;
  const code = networkCode(error as SdkErrorLike);
  return code !== undefined && /^E[A-Z]+$/.test(code) && httpStatusOf(error) === undefined;
}

/** Runs one DynamoDB call and maps what the SDK could not absorb (`dynamoDbHttpError`). */
export async function withDynamoDbErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw dynamoDbHttpError(error) ?? error;
  }
}

/** One reason of a cancelled transaction, in the order of the transaction's items. */
type CancellationCode =
  | 'None'
  | 'ConditionalCheckFailed'
  | 'ItemCollectionSizeLimitExceeded'
  | 'TransactionConflict'
  | 'ProvisionedThroughputExceeded'
  | 'ThrottlingError'
  | 'ValidationError'
  | (string & {});

/**
 * The per-item reasons of a `TransactionCanceledException`, or undefined for any other
 * error. An absent code is reported as `None`.
 */
export function cancellationCodes(error: unknown): CancellationCode[] | undefined {
  if (!(error instanceof TransactionCanceledException) && errorName(error) !== 'TransactionCanceledException') {
    return undefined;
  }
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}

/**
 * The size DynamoDB bills for an item (attribute names plus values), following the rules
 * in the DynamoDB developer guide: strings by UTF-8 length, numbers by significant digits,
 * 3 bytes of overhead per map or list and 1 per element.
 */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace(/[.e+-]/g, '').replace(/^0+/, '').length;
    return Math.ceil(Math.max(digits, 1) / 2) + 1;
  }
  if (Array.isArray(value)) {
    return 3 + value.reduce<number>((sum, element) => sum + 1 + valueSize(element), 0);
  }
  if (typeof value === 'object') {
    let size = 3;
    for (const [name, element] of Object.entries(value as Record<string, unknown>)) {
      if (element === undefined) continue;
      size += 1 + Buffer.byteLength(name, 'utf8') + valueSize(element);
    }
    return size;
  }
  throw new TypeError(`Cannot size a ${typeof value} for DynamoDB`);
}

/**
 * Refuses, before anything is sent, a transaction DynamoDB would refuse: an item over
 * 400 KB (413, the caller's content is too large), or more than 100 items or 4 MB in all
 * (a programming error, since no single request writes that much).
 */
export function checkTransactionLimits(items: readonly Record<string, unknown>[]): void {
  if (items.length > MAX_TRANSACTION_ITEMS) {
    throw new Error(`A transaction takes at most ${MAX_TRANSACTION_ITEMS} items, got ${items.length}`);
  }
  let total = 0;
  for (const item of items) {
    const size = itemSize(item);
    if (size > MAX_ITEM_BYTES) {
      throw new PayloadTooLargeError(
        `The change would store ${size} bytes in one item; the limit is ${MAX_ITEM_BYTES}.`,
      );
    }
    total += size;
  }
  if (total > MAX_TRANSACTION_BYTES) {
    throw new Error(`A transaction takes at most ${MAX_TRANSACTION_BYTES} bytes, got ${total}`);
  }
}
