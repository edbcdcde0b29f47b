/**
 * Deployment stages and the settings that differ between them, read from CDK context
 * (`-c stage=<name>`, `-c jwksUrl=...`, ...). docs/deploy.md lists every context key.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import type { FunctionClass } from './function-classes.ts';

const stageNames = ['dev', 'prod'] as const;
type StageName = (typeof stageNames)[number];

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * A mistake in the CDK context (a missing or malformed key). `infra/app.ts` prints its
 * message as one line and exits 1 instead of showing a stack trace.
 */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/** Memory, timeout and reserved concurrency of one class of functions (the bulkheads). */
interface FunctionClassSettings {
  memorySize: number;
  timeoutSeconds: number;
  /**
   * Concurrent executions reserved for each function of the class: its own pool, which
   * neither another function can take from it nor it can exceed.
   * @default - none: the account's unreserved pool (`-c reserveConcurrency=false`)
   */
  reservedConcurrency?: number;
}

/**
 * How a new version of the functions takes traffic: `all-at-once` moves the `live` alias
 * straight away; the others are CodeDeploy's predefined Lambda configurations, which shift
 * traffic step by step and roll back when a watched alarm fires.
 */
export type TrafficShift = 'all-at-once' | 'CANARY_10PERCENT_5MINUTES' | 'LINEAR_10PERCENT_EVERY_1MINUTE';

/** What the stacks need to know about the stage they are deployed to. */
/**
 * `TrafficManager-<stage>`: the name of a stage's stack, REST API, dashboard and CodeDeploy
 * application, and the prefix of its alarms, so that dev and prod can share an account.
 */
export function stageResourceName(stage: string): string {
  return `TrafficManager-${stage}`;
}

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
  /** Per function class: resolve apart from reads, writes, health and the publisher. */
  functionClasses: Readonly<Record<FunctionClass, FunctionClassSettings>>;
  trafficShift: TrafficShift;
  /** Who is told when an alarm changes state. */
  alarmSubscriptions: AlarmSubscriptions;
  /**
   * A customer-managed KMS key for the table, queues, logs and the alarm topic
   * (`-c kmsKey=<arn>`). Its key policy must let CloudWatch Logs, SQS, EventBridge and
   * CloudWatch alarms use it (docs/deploy.md, "Stage settings").
   * @default - AWS-owned or AWS-managed keys; a key of the stack's own for the alarm topic
   */
  kmsKeyArn?: string;
  /**
   * Where alarm descriptions point: the runbook's address, each alarm adding its anchor.
   * @default `https://github.com/<githubRepository>/blob/main/docs/runbook.md`, or `docs/runbook.md`
   */
  runbookUrl: string;
}

interface AlarmSubscriptions {
  /** E-mail addresses subscribed to the stage's alarm topic (`-c alarmEmail=a@x,b@y`). */
  emails: readonly string[];
  /**
   * Existing SNS topics (a pager's, a chat integration's) that every alarm also notifies
   * (`-c alarmTopicArn=arn:aws:sns:...`, comma-separated). SNS cannot subscribe a topic to a
   * topic, so these are extra alarm actions beside the stage's own topic.
   */
  topicArns: readonly string[];
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
 * The prod stage has no defaults: synth fails naming the missing context keys.
 */
const devAuthDefaults: AuthSettings = {
  jwksUrl: 'https://auth.dev.traffic-manager.example/.well-known/jwks.json',
  issuer: 'https://auth.dev.traffic-manager.example/',
  audience: 'traffic-manager',
};

type StageDefaults = Omit<StageSettings, 'name' | 'corsOrigins' | 'alarmSubscriptions' | 'kmsKeyArn' | 'runbookUrl'>;

/** Memory and timeout of each function class, the same in every stage. */
const functionSizes: Readonly<Record<FunctionClass, Omit<FunctionClassSettings, 'reservedConcurrency'>>> = {
  resolve: { memorySize: 1024, timeoutSeconds: 10 },
  read: { memorySize: 512, timeoutSeconds: 10 },
  write: { memorySize: 512, timeoutSeconds: 10 },
  health: { memorySize: 256, timeoutSeconds: 10 },
  publisher: { memorySize: 256, timeoutSeconds: 60 },
};

function withReservedConcurrency(reserved: Record<FunctionClass, number>): Record<FunctionClass, FunctionClassSettings> {
  const classes = Object.keys(functionSizes) as FunctionClass[];
  return Object.fromEntries(
    classes.map((name) => [name, { ...functionSizes[name], reservedConcurrency: reserved[name] }]),
  ) as Record<FunctionClass, FunctionClassSettings>;
}

/**
 * Why these numbers: resolve is the hot path (more memory is more CPU, so lower latency)
 * and gets the largest pool; writes retry on conflicts and must not starve resolve; the
 * publisher runs one batch per stream shard (parallelization factor 1), so a few suffice.
 * Prod reserves 335 in all: the account's concurrency quota must leave 100 unreserved
 * above that (docs/deploy.md, "Bootstrap").
 */
const settingsByStage: Record<StageName, StageDefaults> = {
  dev: {
    removalPolicy: RemovalPolicy.DESTROY,
    protect: false,
    logRetention: RetentionDays.ONE_WEEK,
    logLevel: 'DEBUG',
    functionClasses: withReservedConcurrency({ resolve: 10, read: 5, write: 5, health: 5, publisher: 5 }),
    trafficShift: 'all-at-once',
  },
  prod: {
    removalPolicy: RemovalPolicy.RETAIN,
    protect: true,
    logRetention: RetentionDays.THREE_MONTHS,
    logLevel: 'INFO',
    functionClasses: withReservedConcurrency({ resolve: 100, read: 10, write: 10, health: 5, publisher: 5 }),
    trafficShift: 'CANARY_10PERCENT_5MINUTES',
  },
};

function isStageName(value: unknown): value is StageName {
  return typeof value === 'string' && (stageNames as readonly string[]).includes(value);
}

/** A comma-separated context value as a list; [] when absent or empty. */
function contextList(node: Node, key: string): string[] {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'string') throw new ContextError(`Context "${key}" must be a comma-separated string`);
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function contextString(node: Node, key: string): string | undefined {
  const raw: unknown = node.tryGetContext(key);
  return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
}

/** The stage named by the `stage` context key; `dev` when absent. */
export function stageFromContext(node: Node): StageSettings {
  const raw: unknown = node.tryGetContext('stage') ?? 'dev';
  if (!isStageName(raw)) {
    throw new ContextError(`Unknown stage ${JSON.stringify(raw)}: use -c stage=${stageNames.join('|')}`);
  }
  const corsOrigins = contextList(node, 'corsOrigins');
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ContextError(`Invalid origin ${JSON.stringify(origin)} in -c corsOrigins: use scheme://host[:port]`);
    }
  }
  const emails = contextList(node, 'alarmEmail');
  for (const email of emails) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      throw new ContextError(`Invalid address ${JSON.stringify(email)} in -c alarmEmail`);
    }
  }
  const topicArns = contextList(node, 'alarmTopicArn');
  for (const arn of topicArns) {
    if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(arn)) {
      throw new ContextError(`Invalid topic ARN ${JSON.stringify(arn)} in -c alarmTopicArn`);
    }
  }
  const kmsKeyArn = contextString(node, 'kmsKey');
  if (kmsKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/.test(kmsKeyArn)) {
    throw new ContextError(`Invalid key ARN ${JSON.stringify(kmsKeyArn)} in -c kmsKey: use arn:aws:kms:<region>:<account>:key/<id>`);
  }
  const repository = contextString(node, 'githubRepository');
  const runbookUrl =
    contextString(node, 'runbookUrl') ??
    (repository === undefined ? 'docs/runbook.md' : `https://github.com/${repository}/blob/main/docs/runbook.md`);

  const defaults = settingsByStage[raw];
  const reserve = String(node.tryGetContext('reserveConcurrency') ?? 'true') !== 'false';
  const functionClasses = reserve
    ? defaults.functionClasses
    : (Object.fromEntries(
        Object.entries(defaults.functionClasses).map(([name, { reservedConcurrency: _dropped, ...rest }]) => [name, rest]),
      ) as Record<FunctionClass, FunctionClassSettings>);

  return {
    name: raw,
    ...defaults,
    functionClasses,
    corsOrigins,
    alarmSubscriptions: { emails, topicArns },
    ...(kmsKeyArn === undefined ? {} : { kmsKeyArn }),
    runbookUrl,
  };
}

const authKeys = ['jwksUrl', 'issuer', 'audience'] as const;

/**
 * Token settings from context; dev falls back to {@link devAuthDefaults}, prod requires all
 * three and names every missing one at once.
 */
export function authFromContext(node: Node, stage: StageName): AuthSettings {
  const given = Object.fromEntries(authKeys.map((key) => [key, contextString(node, key)])) as Record<
    (typeof authKeys)[number],
    string | undefined
  >;
  const missing = authKeys.filter((key) => given[key] === undefined);
  if (stage !== 'dev' && missing.length > 0) {
    throw new ContextError(
      `Stage ${stage} needs the context keys ${missing.join(', ')}: pass ${missing.map((key) => `-c ${key}=...`).join(' ')}`,
    );
  }
  const algorithms = contextString(node, 'authAlgorithms');
  return {
    jwksUrl: given.jwksUrl ?? devAuthDefaults.jwksUrl,
    issuer: given.issuer ?? devAuthDefaults.issuer,
    audience: given.audience ?? devAuthDefaults.audience,
    ...(algorithms === undefined ? {} : { algorithms }),
  };
}
