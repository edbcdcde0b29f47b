import { awsEnv, parseEnv } from '../config.ts';

const env = parseEnv(awsEnv);

/**
 * Settings every SDK client shares: explicit timeouts (a hung connection must not eat the
 * function's whole timeout) and the standard retry strategy, whose retry quota is the
 * retry budget that stops retry storms when a dependency is down.
 */
export const awsClientConfig = {
  region: env.AWS_REGION,
  ...(env.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: env.AWS_ENDPOINT_URL }),
  maxAttempts: 3,
  retryMode: 'standard',
  requestHandler: {
    connectionTimeout: 1_000,
    requestTimeout: env.AWS_REQUEST_TIMEOUT_MS,
    // Without it the handler only logs a warning and keeps waiting.
    throwOnRequestTimeout: true,
  },
} as const;
