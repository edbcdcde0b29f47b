/**
 * What the Lambda runtime and API Gateway hand a function besides the request: the
 * invocation context and the caller identity of a REST proxy event. The local server and the
 * test fixtures build them here, so both look like the real thing in the same way.
 */
import { randomUUID } from 'node:crypto';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { APIGatewayEventIdentity, Context } from 'aws-lambda';

export interface InvocationOptions {
  functionName: string;
  /** Defaults to a fresh UUID, as the runtime gives each invocation. */
  requestId?: string;
  accountId?: string;
  /** The function's timeout: what `getRemainingTimeInMillis` counts down from. */
  timeoutMs?: number;
}

/** A Lambda context as the Node.js runtime passes it; a new object per invocation. */
export function invocationContext(options: InvocationOptions): Context {
  const { functionName, accountId = '000000000000', timeoutMs = 10_000 } = options;
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${accountId}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** `requestContext.identity` of a REST proxy event for an unauthenticated-at-the-gateway caller. */
export function callerIdentity(sourceIp: string, userAgent: string | null): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

let invokeStore: InvokeStoreBase | undefined;

/**
 * Gives every local invocation a context of its own, as Lambda does.
 *
 * In AWS one execution environment serves one invocation at a time, so the module-scope
 * Powertools logger (its keys, its Lambda context) belongs to that invocation. The local
 * stack serves every function from one process, concurrently. It does what Lambda's own
 * Node.js runtime does when an environment serves concurrent invocations (Lambda Managed
 * Instances): it sets `AWS_LAMBDA_MAX_CONCURRENCY` and runs each invocation inside the
 * runtime's `InvokeStore` (AsyncLocalStorage), which Powertools reads to scope its logger,
 * metrics and batch state per invocation. Idempotent.
 */
export async function installInvokeStore(): Promise<void> {
  if (invokeStore !== undefined) return;
  // Powertools checks the variable on every access, so setting it before the first
  // invocation is enough; it must never be set without a store (Powertools then throws).
  const store = await InvokeStore.getInstanceAsync(true);
  if (store.constructor.name !== 'InvokeStoreMulti') {
    throw new Error('A single-invocation InvokeStore was created first: invocations would share one logger context');
  }
  invokeStore = store;
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '1000';
}

/**
 * Runs one invocation of a handler in its own invocation context (see
 * `installInvokeStore`); without an installed store, as it is.
 */
export function runInvocation<T>(context: Context, invoke: () => Promise<T>): Promise<T> {
  if (invokeStore === undefined) return invoke();
  return invokeStore.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, invoke);
}
