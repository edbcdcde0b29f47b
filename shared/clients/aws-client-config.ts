/**
 * Settings every SDK client shares, and the invocation deadline every call of theirs obeys.
 *
 * The retry budget: the standard retry mode, at most `maxAttempts` attempts per call (the
 * first and two retries, with exponential backoff and jitter), drawing on the client's retry
 * quota (500 tokens per client, 5 per retried error, 10 per retried timeout, 1 returned per
 * success), so once a dependency keeps failing the quota runs dry and calls fail at their
 * first error instead of multiplying the load. Each attempt has a connection timeout and a
 * request timeout; and every call is abandoned at the invocation's deadline
 * (`./deadline.ts`), so the function answers before Lambda would kill it.
 */
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
