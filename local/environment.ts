/**
 * The environment the functions see in the local stack and in tests: what the CDK
 * construct sets in AWS, pointed at the emulator, and the local dev key (local/dev-keys.ts)
 * in place of the identity provider's JWKS.
 */
import { localNames } from '#infra/resources';
import { loadDevKeys } from './dev-keys.ts';

/** The `iss` of local tokens (local/token.ts) and the issuer the local functions accept. */
export const localIssuer = 'https://traffic-manager.local/';
/** The `aud` of local tokens and the audience the local functions accept. */
export const localAudience = 'traffic-manager';

// Loaded once, when this module is first imported (jose's thumbprint, the key's `kid`, is
// async), so that localFunctionEnvironment stays synchronous for its callers.
const devPublicJwk = JSON.stringify((await loadDevKeys()).publicJwk);

export function localFunctionEnvironment(awsEndpoint: string): Record<string, string> {
  return {
    AWS_REGION: localNames.region,
    AWS_ENDPOINT_URL: awsEndpoint,
    // The emulator accepts any credentials; fixed ones keep the SDK from searching for some.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // The emulator serialises requests: under a burst a call can wait its turn for seconds,
    // for a socket as for an answer. Every call still stops at the request's deadline (the
    // local functions have 25 s, below the gateway's 29 s), and resolve's load deadline
    // stays inside it, so a frozen emulator gets an answer, never a hang.
    AWS_REQUEST_TIMEOUT_MS: '30000',
    AWS_CONNECT_TIMEOUT_MS: '10000',
    RESOLVE_LOAD_DEADLINE_MS: '20000',
    HEALTH_CHECK_DEADLINE_MS: '9000',
    TABLE_NAME: localNames.tableName,
    EVENT_BUS_NAME: localNames.eventBusName,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ALLOW_HTTP_UPSTREAMS: 'true',
    AUTH_PUBLIC_JWK: devPublicJwk,
    AUTH_ISSUER: localIssuer,
    AUTH_AUDIENCE: localAudience,
    AUTH_ALGORITHMS: 'ES256',
  };
}
