/**
 * The environment a bundled handler needs at import (cold start), as `ServiceFunction` and
 * `bindTable`/`bindBus` set it in AWS, with a throwaway public JWK instead of a JWKS URL.
 * Tracing off (no X-Ray daemon here) and metrics disabled (no EMF lines on stdout) unless
 * a benchmark asks for them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { metricsNamespace, powertoolsServiceName } from '#infra/constructs/service-function';

const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const dummyPublicJwk = JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' });

/** A clean environment: nothing inherited but PATH and HOME, so npm's variables cannot skew a run. */
export function handlerEnvironment(nodeOptions: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_REGION: 'us-east-1',
    TABLE_NAME: 'traffic-manager-bench',
    EVENT_BUS_NAME: 'traffic-manager-bench',
    AUTH_PUBLIC_JWK: dummyPublicJwk,
    AUTH_ISSUER: 'https://issuer.bench.invalid/',
    AUTH_AUDIENCE: 'traffic-manager',
    POWERTOOLS_SERVICE_NAME: powertoolsServiceName,
    POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    LOG_LEVEL: 'INFO',
    NODE_OPTIONS: nodeOptions,
  };
}
