/**
 * Logger, metrics and tracer, one of each per execution environment. Powertools reads its
 * other settings (log level, sampling) from its documented POWERTOOLS_* variables, which the
 * CDK construct and the local stack set.
 *
 * The tracer is Powertools' own where it traces (deployed functions: active tracing), and
 * loaded only there: its X-Ray SDK, once imported, keeps an async hook on every promise of
 * the process (cls-hooked), which cost the warm resolve handler about a third of its time
 * with tracing off (`npm run bench`). Elsewhere (local stack, tests, benchmarks) a stand-in
 * does what Powertools' tracer does when tracing is off: nothing.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { observabilityEnv, parseEnv, tracingEnabled } from './config.ts';

const env = parseEnv(observabilityEnv);

export const serviceName = env.POWERTOOLS_SERVICE_NAME;

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: env.POWERTOOLS_METRICS_NAMESPACE });

/**
 * Powertools' tracer with tracing off, without loading it: its middleware then calls only
 * `isTracingEnabled()`, and `captureAWSv3Client` hands the client back untouched. The cast
 * is the one way to give `captureLambdaHandler` a `Tracer` that is not an instance of the
 * class; the members above are all that the tracer's users here reach with tracing off
 * (test/unit/observability.test.ts checks them against a disabled Tracer).
 */
export const disabledTracer = {
  isTracingEnabled: (): boolean => false,
  captureAWSv3Client: <T>(client: T): T => client,
} satisfies Partial<Tracer> as unknown as Tracer;

export const tracer: Tracer = tracingEnabled(env)
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName })
  : disabledTracer;
