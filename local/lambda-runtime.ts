/**
 * What the Lambda runtime and API Gateway hand a function besides the request: the
 * invocation context and the caller identity of a REST proxy event. The local server and the
 * test fixtures build them here, so both look like the real thing in the same way.
 */
import { randomUUID } from 'node:crypto';
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
