/**
 * What the Lambda runtime and API Gateway hand a function besides the request: the
 * invocation context and the caller identity of a REST proxy event. The local server and the
 * test fixtures build them here, so both look like the real thing in the same way.
 */
import { randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { APIGatewayEventIdentity, Context } from 'aws-lambda';

export interface InvocationOptions {
  functionName: string;
  /** Defaults to a fresh UUID, as the runtime gives each invocation. */
  requestId?: string;
  accountId?: string;
  /** The function's timeout: what `getRemainingTimeInMillis` counts down from. */
  timeoutMs?: number;
}

/**
 * A log stream belongs to an execution environment, not to an invocation: here one per
 * function name, as if each function had one environment in this process.
 */
const logStreams = new Map<string, string>();

function logStreamOf(functionName: string): string {
  let stream = logStreams.get(functionName);
  if (stream === undefined) {
    stream = `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`;
    logStreams.set(functionName, stream);
  }
  return stream;
}

/** The deprecated callback-style completions: nothing calls them from an async handler. */
const ignored = (): undefined => undefined;

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
    logStreamName: logStreamOf(functionName),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: ignored,
    fail: ignored,
    succeed: ignored,
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

/** The context of one invocation, as the runtime's store keeps it. */
type InvocationStoreContext = Record<string | symbol, unknown>;

const protectedKeys: ReadonlySet<string | symbol> = new Set(Object.values(InvokeStoreBase.PROTECTED_KEYS));

/**
 * The runtime's invocation store for an environment that serves concurrent invocations:
 * one AsyncLocalStorage context per invocation (what `@aws/lambda-invoke-store` builds when
 * `AWS_LAMBDA_MAX_CONCURRENCY` is set). Ours, so that it is in place whatever created a
 * single-invocation store before (the AWS SDK asks for one on its first request).
 */
class ConcurrentInvokeStore extends InvokeStoreBase {
  private readonly storage = new AsyncLocalStorage<InvocationStoreContext>();
  /**
   * What is set outside any invocation (module scope, at cold start: Powertools' batch
   * processor sets its defaults when it is constructed), shared as in a single-invocation
   * environment.
   */
  private readonly initContext: InvocationStoreContext = {};

  getContext(): InvocationStoreContext | undefined {
    return this.storage.getStore();
  }

  hasContext(): boolean {
    return this.storage.getStore() !== undefined;
  }

  get<T = unknown>(key: string | symbol): T | undefined {
    return (this.storage.getStore() ?? this.initContext)[key] as T | undefined;
  }

  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    (this.storage.getStore() ?? this.initContext)[key] = value;
  }

  run<T>(context: InvocationStoreContext, fn: () => T): T {
    return this.storage.run(context, fn);
  }

  /** The base class lists the keys afresh on every `set`, which Powertools calls per request. */
  protected override isProtectedKey(key: string | symbol): boolean {
    return protectedKeys.has(key);
  }
}

let invokeStore: ConcurrentInvokeStore | undefined;

/**
 * Gives every local invocation a context of its own, as Lambda does.
 *
 * In AWS one execution environment serves one invocation at a time, so the module-scope
 * Powertools logger (its keys, its Lambda context) belongs to that invocation. The local
 * stack serves every function from one process, concurrently. It does what Lambda's own
 * Node.js runtime does when an environment serves concurrent invocations (Lambda Managed
 * Instances): it puts an invocation store on `globalThis.awslambda`, sets
 * `AWS_LAMBDA_MAX_CONCURRENCY`, and runs each invocation inside the store (see
 * `runInvocation`); Powertools reads them to scope its logger, metrics and batch state per
 * invocation. Idempotent.
 */
export function installInvokeStore(): void {
  if (invokeStore !== undefined) return;
  invokeStore = new ConcurrentInvokeStore();
  const global = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
  global.awslambda ??= {};
  global.awslambda.InvokeStore = invokeStore;
  // Powertools checks the variable on every access; it must never be set without a store
  // (Powertools then throws), hence only here, and never passed to a child process (see
  // `childProcessEnv`).
  process.env[concurrencyVariable] ??= '1000';
}

/** Set in a process that serves concurrent invocations (see `installInvokeStore`). */
export const concurrencyVariable = 'AWS_LAMBDA_MAX_CONCURRENCY' as const;

/**
 * This process's environment for a child Node process, without `concurrencyVariable`: in a
 * child that has no invocation store, Powertools would throw at its first import.
 */
export function childProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.AWS_LAMBDA_MAX_CONCURRENCY;
  return env;
}

/**
 * Runs one invocation of a handler in its own invocation context (see
 * `installInvokeStore`); without an installed store, as it is.
 */
export function runInvocation<T>(context: Context, invoke: () => Promise<T>): Promise<T> {
  if (invokeStore === undefined) return invoke();
  return invokeStore.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, invoke);
}
