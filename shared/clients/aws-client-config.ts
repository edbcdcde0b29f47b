/**
 * Settings every SDK client shares, and the invocation deadline every call of theirs obeys.
 *
 * The retry budget: the standard retry mode, at most `maxAttempts` attempts per call (the
 * first and two retries, with exponential backoff and jitter), drawing on the client's retry
 * quota (500 tokens per client, 5 per retried error, 10 per retried timeout, 1 returned per
 * success), so once a dependency keeps failing the quota runs dry and calls fail at their
 * first error instead of multiplying the load. Each attempt has a connection timeout and a
 * request timeout; and every call is abandoned at the invocation's deadline (`runWithin`),
 * so the function answers before Lambda would kill it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { awsEnv, parseEnv } from '../config.ts';

const env = parseEnv(awsEnv);

/** The retry budget's attempts per call (see the module comment). */
export const MAX_ATTEMPTS = 3;

/**
 * Sockets per client: enough for a legal burst on one execution environment (one request at
 * a time in Lambda, so this matters only to the local stack, where every function shares one
 * process) without queueing behind the connection timeout.
 */
const MAX_SOCKETS = 256;

export const awsClientConfig = {
  region: env.AWS_REGION,
  ...(env.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: env.AWS_ENDPOINT_URL }),
  maxAttempts: MAX_ATTEMPTS,
  retryMode: 'standard',
  requestHandler: {
    connectionTimeout: env.AWS_CONNECT_TIMEOUT_MS,
    requestTimeout: env.AWS_REQUEST_TIMEOUT_MS,
    // Without it the handler only logs a warning and keeps waiting.
    throwOnRequestTimeout: true,
    httpsAgent: new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
  },
} as const;

/** The deadline (epoch ms) of the invocation running in this async context, if any. */
const invocationDeadline = new AsyncLocalStorage<number>();

/** Runs `work` with every AWS call inside it abandoned at `deadline` (epoch milliseconds). */
export function runWithin<T>(deadline: number, work: () => Promise<T>): Promise<T> {
  return invocationDeadline.run(deadline, work);
}

/** A signal that aborts at the current invocation's deadline; undefined outside one. */
function deadlineSignal(): AbortSignal | undefined {
  const deadline = invocationDeadline.getStore();
  return deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, deadline - Date.now()));
}

interface Sends {
  send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/**
 * Makes every `send` of `client` carry the invocation's deadline as its abort signal (unless
 * the caller gave one). The SDK reads the signal only from `send`'s options, so this is the
 * one place it can be added for every call.
 */
export function obeyingDeadline<C extends Sends>(client: C): C {
  const send = client.send.bind(client) as (command: never, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
  client.send = ((command: never, options?: { abortSignal?: AbortSignal }) => {
    const abortSignal = options?.abortSignal ?? deadlineSignal();
    return send(command, abortSignal === undefined ? options : { ...options, abortSignal });
  }) as C['send'];
  return client;
}
