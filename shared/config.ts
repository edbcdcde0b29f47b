/**
 * Configuration, read from the environment once per execution environment and validated
 * with zod. Each part is parsed by the module that needs it, at import (cold start), so a
 * function gets only the variables it was given and fails fast, naming the variable, when
 * one is missing or malformed. No silent defaults for anything that names a resource.
 */
import { z } from 'zod';
import { ConfigError } from './errors/http-errors.ts';

/** Parses `env` with `schema`; throws a `ConfigError` naming every bad variable. */
export function parseEnv<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.infer<z.ZodObject<Shape>>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(result.data);
}

const nonEmpty = z.string().trim().min(1);
const booleanFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

/** AWS access: region, and an endpoint override used only by the local stack and tests. */
export const awsEnv = {
  AWS_REGION: nonEmpty,
  /** Local stack and tests only: the emulator's URL. Unset in AWS. */
  AWS_ENDPOINT_URL: z.url().optional(),
};

export const tableEnv = { TABLE_NAME: nonEmpty };
export const busEnv = { EVENT_BUS_NAME: nonEmpty };

/** Upstream URL policy (API.md, `url`): https and public hosts unless a deployment opts in. */
export const upstreamEnv = {
  ALLOW_HTTP_UPSTREAMS: booleanFlag.default(false),
  ALLOW_PRIVATE_UPSTREAMS: booleanFlag.default(false),
};

export const httpEnv = {
  /** Comma-separated origins allowed by CORS; unset means no CORS headers at all. */
  CORS_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin.length > 0),
    ),
};
