import middy from '@middy/core';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { execFileSync } from 'node:child_process';
import type { Context } from 'aws-lambda';
import { repoRoot } from '#local/paths';
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

/**
 * What importing shared/observability.ts loads, in a fresh Node process (this one has loaded
 * the X-Ray SDK through the imports above): cls-hooked registers the SDK's namespace on
 * `process.namespaces` when the SDK is imported.
 */
function importObservability(env: Record<string, string>): { xraySdkLoaded: boolean; tracing: boolean } {
  const probe = `const { tracer } = await import('./shared/observability.ts');
    console.log(JSON.stringify({ xraySdkLoaded: process.namespaces?.AWSXRay !== undefined, tracing: tracer.isTracingEnabled() }));`;
  const { PATH, HOME } = process.env;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
    cwd: repoRoot,
    env: { PATH, HOME, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '') as { xraySdkLoaded: boolean; tracing: boolean };
}

describe('what importing observability loads', () => {
  it('neither the tracer nor the X-Ray SDK where tracing is off', () => {
    expect(importObservability({})).toEqual({ xraySdkLoaded: false, tracing: false });
  });

  it("Powertools' tracer and the X-Ray SDK, tracing, in a deployed function", () => {
    const deployed = {
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0',
    };
    expect(importObservability(deployed)).toEqual({ xraySdkLoaded: true, tracing: true });
  });
});

describe('the tracer where tracing is off', () => {
  it('is the stand-in', () => {
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
