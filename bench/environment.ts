/**
 * The environment a bundled handler needs at import (cold start), as `ServiceFunction` and
 * `bindTable`/`bindBus` set it in AWS, with a throwaway public JWK instead of a JWKS URL.
 * Tracing off and metrics disabled (no EMF lines on stdout) unless a benchmark asks for
 * them: `deployedTracing` turns tracing on as deployed functions have it.
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

/**
 * Tracing on as in a deployed function (active tracing): in Lambda by Powertools' rule and the
 * X-Ray SDK's, with an unsampled trace id, as most requests are under X-Ray's default sampling
 * (one a second, then 5%), and the daemon's address a port nobody listens on. With it,
 * shared/observability.ts loads Powertools' tracer and the X-Ray SDK, as in AWS.
 */
export const deployedTracing = {
  POWERTOOLS_TRACE_ENABLED: 'true',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  LAMBDA_TASK_ROOT: '/var/task',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2999',
};
