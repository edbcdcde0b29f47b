/**
 * Logger, metrics and tracer, one of each per execution environment. Powertools reads its
 * other settings (log level, sampling, tracing on or off) from its documented POWERTOOLS_*
 * variables, which the CDK construct and the local stack set.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { observabilityEnv, parseEnv } from './config.ts';

const env = parseEnv(observabilityEnv);

export const serviceName = env.POWERTOOLS_SERVICE_NAME;

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: env.POWERTOOLS_METRICS_NAMESPACE });
/** A no-op outside Lambda: Powertools disables tracing when no X-Ray daemon is configured. */
export const tracer = new Tracer({ serviceName });
