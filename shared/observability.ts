/**
 * Logger, metrics and tracer, one of each per execution environment. Powertools reads its
 * settings (service name, namespace, log level) from its documented POWERTOOLS_* variables,
 * which the CDK construct and the local stack set.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const serviceName = 'traffic-manager';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: 'TrafficManager' });
/** A no-op outside Lambda: Powertools disables tracing when no X-Ray daemon is configured. */
export const tracer = new Tracer({ serviceName });
