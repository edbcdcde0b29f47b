import middy from '@middy/core';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context } from 'aws-lambda';
import { observabilityEnv, parseEnv, tracingEnabled } from '#shared/config';
import { disabledTracer, tracer } from '#shared/observability';

/** Powertools' own verdict: a Tracer built with `env` as the process environment. */
function powertoolsTraces(env: Record<string, string>): boolean {
  const saved = process.env;
  try {
    const { POWERTOOLS_TRACE_ENABLED, AWS_EXECUTION_ENV, AWS_SAM_LOCAL, ...rest } = saved;
    process.env = { ...rest, ...env };
    return new Tracer({ serviceName: 'probe' }).isTracingEnabled();
  } finally {
    process.env = saved;
  }
}

describe('tracingEnabled', () => {
  const cases: Record<string, string>[] = [
    {},
    { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' },
    { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' },
    { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: ' FALSE ' },
    { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'true' },
    { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_SAM_LOCAL: 'true' },
    { AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' },
    { POWERTOOLS_TRACE_ENABLED: 'true' },
  ];

  it.each(cases)('agrees with Powertools for %j', (env) => {
    expect(tracingEnabled(parseEnv(observabilityEnv, env))).toBe(powertoolsTraces(env));
  });

  it('traces in a deployed function and nowhere else here', () => {
    expect(tracingEnabled(parseEnv(observabilityEnv, { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }))).toBe(true);
    expect(tracingEnabled(parseEnv(observabilityEnv, {}))).toBe(false);
  });
});

describe('the tracer where tracing is off', () => {
  it('is the stand-in, so the X-Ray SDK is never loaded', () => {
    expect(tracer).toBe(disabledTracer);
  });

  it('behaves as a disabled Powertools tracer', () => {
    const real = new Tracer({ serviceName: 'probe', enabled: false });
    const client = { send: () => undefined };
    expect(disabledTracer.isTracingEnabled()).toBe(real.isTracingEnabled());
    expect(disabledTracer.captureAWSv3Client(client)).toBe(real.captureAWSv3Client(client));
  });

  it("passes through Powertools' middleware on success and on error", async () => {
    const context = { awsRequestId: 'r' } as Context;
    const ok = middy(async () => 'done').use(captureLambdaHandler(disabledTracer));
    await expect(ok({}, context)).resolves.toBe('done');
    const failing = middy(async () => {
      throw new Error('boom');
    }).use(captureLambdaHandler(disabledTracer));
    await expect(failing({}, context)).rejects.toThrow('boom');
  });
});
