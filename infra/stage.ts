/**
 * Deployment stages and the settings that differ between them, read from CDK context
 * (`-c stage=<name>`, `-c jwksUrl=...`, `-c issuer=...`, `-c audience=...`).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';

export const stageNames = ['dev', 'prod'] as const;
export type StageName = (typeof stageNames)[number];

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** What the stacks need to know about the stage they are deployed to. */
export interface StageSettings {
  name: StageName;
  /** Stateful resources and logs outlive the stack outside dev. */
  removalPolicy: RemovalPolicy;
  /** Deletion protection on the table, termination protection on the stack. */
  protect: boolean;
  logRetention: RetentionDays;
  logLevel: LogLevel;
  /**
   * Browser origins allowed by CORS, from `-c corsOrigins=https://a.example,https://b.example`.
   * @default [] - no CORS: no preflight methods, no CORS headers
   */
  corsOrigins: readonly string[];
}

/** Token verification settings handed to every function that checks scopes. */
export interface AuthSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /**
   * Comma-separated JWS algorithm allow-list (`AUTH_ALGORITHMS`), from `-c authAlgorithms=...`.
   * @default - unset: the functions' own default (shared/config.ts, `authEnv`)
   */
  algorithms?: string;
}

/**
 * Token settings for the dev stage when the context does not name any: a placeholder
 * identity provider under the reserved `.example` domain, so that `cdk synth` works offline
 * and a dev deployment fails closed (no token verifies) until real values are passed with
 * `-c jwksUrl=https://idp/.well-known/jwks.json -c issuer=https://idp/ -c audience=traffic-manager`.
 * The prod stage has no defaults: synth fails naming the missing context key.
 */
export const devAuthDefaults: AuthSettings = {
  jwksUrl: 'https://auth.dev.traffic-manager.example/.well-known/jwks.json',
  issuer: 'https://auth.dev.traffic-manager.example/',
  audience: 'traffic-manager',
};

const settingsByStage: Record<StageName, Omit<StageSettings, 'name' | 'corsOrigins'>> = {
  dev: {
    removalPolicy: RemovalPolicy.DESTROY,
    protect: false,
    logRetention: RetentionDays.ONE_WEEK,
    logLevel: 'DEBUG',
  },
  prod: {
    removalPolicy: RemovalPolicy.RETAIN,
    protect: true,
    logRetention: RetentionDays.THREE_MONTHS,
    logLevel: 'INFO',
  },
};

function isStageName(value: unknown): value is StageName {
  return typeof value === 'string' && (stageNames as readonly string[]).includes(value);
}

/** The stage named by the `stage` context key; `dev` when absent. */
export function stageFromContext(node: Node): StageSettings {
  const raw: unknown = node.tryGetContext('stage') ?? 'dev';
  if (!isStageName(raw)) {
    throw new Error(`Unknown stage ${JSON.stringify(raw)}: use -c stage=${stageNames.join('|')}`);
  }
  const cors: unknown = node.tryGetContext('corsOrigins');
  const corsOrigins =
    typeof cors === 'string'
      ? cors
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin !== '')
      : [];
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(`Invalid origin ${JSON.stringify(origin)} in -c corsOrigins: use scheme://host[:port]`);
    }
  }
  return { name: raw, ...settingsByStage[raw], corsOrigins };
}

/** Token settings from context; dev falls back to {@link devAuthDefaults}, prod requires all three. */
export function authFromContext(node: Node, stage: StageName): AuthSettings {
  const read = (key: 'jwksUrl' | 'issuer' | 'audience'): string => {
    const value: unknown = node.tryGetContext(key);
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (stage === 'dev') return devAuthDefaults[key];
    throw new Error(`Missing context "${key}" for stage ${stage}: pass -c ${key}=...`);
  };
  const algorithms: unknown = node.tryGetContext('authAlgorithms');
  return {
    jwksUrl: read('jwksUrl'),
    issuer: read('issuer'),
    audience: read('audience'),
    ...(typeof algorithms === 'string' && algorithms.trim() !== '' ? { algorithms } : {}),
  };
}
