/**
 * Configuration, read from the environment once per execution environment and validated
 * with zod. Each part is parsed by the module that needs it, at import (cold start), so a
 * function gets only the variables it was given and fails fast, naming the variable, when
 * one is missing or malformed. No silent defaults for anything that names a resource.
 */
import * as z from './zod.ts';
import type { UpstreamPolicy } from './domain/upstream-url.ts';
import { ConfigError } from './errors/http-errors.ts';

/** Parses `env` with `schema`; throws a `ConfigError` naming every bad variable. */
export function parseEnv<Shape extends z.core.$ZodShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.infer<z.ZodMiniObject<Shape>>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(result.data);
}

/** A whole number from a variable's text, within bounds (`z.coerce.number().int().min().max()` of classic zod). */
function wholeNumber(min: number, max?: number) {
  return z.coerce.number().check(z.int(), z.minimum(min), ...(max === undefined ? [] : [z.maximum(max)]));
}

const nonEmpty = z.string().check(z.trim(), z.minLength(1));
const booleanFlag = z.pipe(
  z.enum(['true', 'false']),
  z.transform((value) => value === 'true'),
);

/** AWS access: region, and an endpoint override used only by the local stack and tests. */
export const awsEnv = {
  AWS_REGION: nonEmpty,
  /** Local stack and tests only: the emulator's URL. Unset in AWS. */
  AWS_ENDPOINT_URL: z.optional(z.url()),
  /**
   * How long one AWS call may take before it fails (and is retried). 2 s in AWS; the local
   * stack raises it because its emulator answers one request at a time.
   */
  AWS_REQUEST_TIMEOUT_MS: z._default(wholeNumber(100, 60_000), 2_000),
  /** How long one attempt may wait for a connection. */
  AWS_CONNECT_TIMEOUT_MS: z._default(wholeNumber(100, 30_000), 1_000),
};

/** Names in logs and metrics; the CDK construct sets both, the defaults serve local runs. */
export const defaultServiceName = 'traffic-manager';
export const defaultMetricsNamespace = 'TrafficManager';
export const observabilityEnv = {
  POWERTOOLS_SERVICE_NAME: z._default(nonEmpty, defaultServiceName),
  POWERTOOLS_METRICS_NAMESPACE: z._default(nonEmpty, defaultMetricsNamespace),
  /** `false` turns tracing off; anything else (or unset) leaves it to where the code runs. */
  POWERTOOLS_TRACE_ENABLED: z.optional(z.string().check(z.trim(), z.toLowerCase())),
  /** Set by the Lambda runtime (`AWS_Lambda_nodejs24.x`); unset locally and in tests. */
  AWS_EXECUTION_ENV: z.optional(z.string().check(z.trim())),
  /** Set by SAM's local emulation, where there is no X-Ray daemon. */
  AWS_SAM_LOCAL: z.optional(z.string().check(z.trim())),
};

/**
 * Whether Powertools' tracer will trace, by its own rule (Tracer.setTracingEnabled): only in
 * Lambda (not SAM local nor Amplify's mock) and unless POWERTOOLS_TRACE_ENABLED is `false`.
 * Deployed functions have active tracing and set neither, so they trace.
 */
export function tracingEnabled(env: Readonly<z.infer<z.ZodMiniObject<typeof observabilityEnv>>>): boolean {
  const executionEnv = env.AWS_EXECUTION_ENV ?? '';
  return (
    env.POWERTOOLS_TRACE_ENABLED !== 'false' &&
    executionEnv !== '' &&
    executionEnv !== 'AWS_Lambda_amplify-mock' &&
    (env.AWS_SAM_LOCAL ?? '') === ''
  );
}

export const tableEnv = { TABLE_NAME: nonEmpty };
export const busEnv = { EVENT_BUS_NAME: nonEmpty };

/** Upstream URL policy (API.md, `url`): https and public hosts unless a deployment opts in. */
export const upstreamEnv = {
  ALLOW_HTTP_UPSTREAMS: z._default(booleanFlag, false),
  ALLOW_PRIVATE_UPSTREAMS: z._default(booleanFlag, false),
};

/**
 * The upstream URL policy this deployment configured (`ALLOW_HTTP_UPSTREAMS`,
 * `ALLOW_PRIVATE_UPSTREAMS`, both default `false`), for shared/domain/upstream-url.ts,
 * which reads no environment itself. Call once at cold start.
 */
export function upstreamPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): UpstreamPolicy {
  const parsed = parseEnv(upstreamEnv, env);
  return { allowHttp: parsed.ALLOW_HTTP_UPSTREAMS, allowPrivate: parsed.ALLOW_PRIVATE_UPSTREAMS };
}

export const httpEnv = {
  /** Comma-separated origins allowed by CORS; unset means no CORS headers at all. */
  CORS_ALLOWED_ORIGINS: z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) =>
      (value ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin.length > 0),
    ),
  ),
};

/** JWS algorithms a deployment may allow: asymmetric only, so never `none` and never HS*. */
const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/**
 * Bearer-token verification (API.md, Auth). Exactly one key source: `AUTH_JWKS_URL` in AWS,
 * or `AUTH_PUBLIC_JWK` (one public JWK as JSON) in the local stack and tests. The
 * "exactly one" rule spans two variables, so shared/auth/authorizer.ts checks it after
 * parsing.
 */
export const authEnv = {
  /** The identity provider's JWKS (https in AWS); keys are picked by `kid`. */
  AUTH_JWKS_URL: z.optional(z.url()),
  /** One public JWK as a JSON string; a private or symmetric key is refused. */
  AUTH_PUBLIC_JWK: z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined, context) => {
      if (value === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        context.issues.push({ code: 'custom', input: value, message: 'must be a JSON object (a JWK)' });
        return z.NEVER;
      }
      const jwk = z
        .looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']), kid: z.optional(z.string()), alg: z.optional(z.string()) })
        .check(z.refine((key) => !('d' in key), 'must be a public key (it has a private part "d")'))
        .safeParse(parsed);
      if (!jwk.success) {
        context.issues.push({
          code: 'custom',
          input: value,
          message: `not a public asymmetric JWK: ${jwk.error.issues[0]?.message}`,
        });
        return z.NEVER;
      }
      return jwk.data;
    }),
  ),
  AUTH_ISSUER: nonEmpty,
  AUTH_AUDIENCE: nonEmpty,
  /** Comma-separated allow-list of JWS algorithms. */
  AUTH_ALGORITHMS: z.pipe(
    z.pipe(
      z._default(z.string(), 'RS256,ES256'),
      z.transform((value: string) =>
        value
          .split(',')
          .map((algorithm) => algorithm.trim())
          .filter((algorithm) => algorithm.length > 0),
      ),
    ),
    z.array(z.enum(asymmetricAlgorithms)).check(z.minLength(1)),
  ),
};

const milliseconds = wholeNumber(0);

/** The resolve path's route cache and breaker (shared/resolve/resolve-route.ts). */
export const resolveCacheEnv = {
  RESOLVE_CACHE_TTL_MS: z._default(milliseconds, 2000),
  RESOLVE_CACHE_NEGATIVE_TTL_MS: z._default(milliseconds, 1000),
  /** A hit this close to expiry reloads in the background; default half the TTL. */
  RESOLVE_CACHE_REFRESH_AHEAD_MS: z.optional(milliseconds),
  RESOLVE_CACHE_MAX_STALE_MS: z._default(milliseconds, 300_000),
  /** Memory the cached routes may take, by estimate (32 MiB: about 10,000 typical routes). */
  RESOLVE_CACHE_MAX_BYTES: z._default(wholeNumber(65_536), 32 * 1024 * 1024),
  RESOLVE_BREAKER_FAILURES: z._default(wholeNumber(1), 5),
  RESOLVE_BREAKER_COOL_DOWN_MS: z._default(milliseconds, 5000),
  /**
   * How long resolve waits for the table before it counts the load as failed and serves the
   * last-known-good route: well inside the function's time, so a hanging table does not eat
   * the function's timeout (every AWS call also stops at the request's deadline).
   */
  RESOLVE_LOAD_DEADLINE_MS: z._default(milliseconds, 1500),
};

/** The health checks (shared/health/health-checks.ts). */
export const healthCheckEnv = {
  /**
   * How long one dependency may take before it counts as down (the local stack: 9 s).
   * Below the functions' 10 s timeout, so a hung dependency is a 503 naming it, not a timeout.
   */
  HEALTH_CHECK_DEADLINE_MS: z._default(wholeNumber(100, 9_000), 2_000),
};
