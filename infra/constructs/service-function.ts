/**
 * `ServiceFunction`: the one way this project declares a Lambda function. It pins what
 * every function shares (runtime, architecture, tracing, bundling, logs, Powertools
 * settings) and gives each function exactly the access it uses through `bindTable` and
 * `bindBus`, which set the environment variable and grant the permission in one call.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Alias, Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel as EsbuildLogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { defaultMetricsNamespace, defaultServiceName } from '../../shared/config.ts';
import { routesTable } from '../resources.ts';
import type { LogLevel } from '../stage.ts';

/** Powertools' service name and metrics namespace in every function: the functions' own defaults. */
export const powertoolsServiceName = defaultServiceName;
export const metricsNamespace = defaultMetricsNamespace;

/**
 * Some bundled dependencies call `require` (Node built-ins, CommonJS leftovers); an ESM
 * bundle has none, so the banner defines one. The alias keeps it from colliding with an
 * import of `createRequire` inside the bundle.
 */
export const esmRequireBanner =
  "import { createRequire as __tmCreateRequire } from 'node:module'; const require = __tmCreateRequire(import.meta.url);";

/**
 * Packages replaced at bundling time (esbuild `--alias`), the same in CDK and in
 * bench/bundles.ts, so that each function loads only what it uses (figures: `npm run bench`):
 * - the SDK's default credential chain by the environment provider, the only one a Lambda
 *   function uses (infra/bundling/credentials-from-environment.mjs);
 * - `semver`, which only the X-Ray SDK's SDK-v2 patcher calls, by that one function
 *   (infra/bundling/semver-gte.mjs);
 * - `node:http` by the same module through `require`, so that no ESM facade reads its lazy
 *   `WebSocket` export and loads undici at cold start (infra/bundling/node-http.mjs), and
 *   `node:process` by the global `process`, so that no facade sets up standard input
 *   (infra/bundling/node-process.mjs).
 * Absolute paths: esbuild resolves an alias's path from its working directory, which differs
 * between the two.
 */
export const bundlingAliasTargets = {
  '@aws-sdk/credential-provider-node': fileURLToPath(new URL('../bundling/credentials-from-environment.mjs', import.meta.url)),
  semver: fileURLToPath(new URL('../bundling/semver-gte.mjs', import.meta.url)),
  'node:http': fileURLToPath(new URL('../bundling/node-http.mjs', import.meta.url)),
  'node:process': fileURLToPath(new URL('../bundling/node-process.mjs', import.meta.url)),
} as const;

/** {@link bundlingAliasTargets} as `NodejsFunction`'s `esbuildArgs`. */
const bundlingAliases: Record<string, string> = Object.fromEntries(
  Object.entries(bundlingAliasTargets).map(([name, target]) => [`--alias:${name}`, target]),
);

/**
 * What `read` grants: item reads, queries and the readiness check's DescribeTable. No Scan:
 * every read in this service is by key or by the tenant index.
 */
export const tableReadActions = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
] as const;

/**
 * What `readWrite` adds. TransactWriteItems is authorised per item by these actions. No
 * BatchWriteItem: every write is a transaction or a single-item call.
 */
export const tableWriteActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/** What `describe` grants: the readiness check's DescribeTable, and no item access. */
export const tableDescribeActions = ['dynamodb:DescribeTable'] as const;

/**
 * KMS actions a writer needs on a customer-managed key that encrypts the table (named one
 * by one: no wildcard actions); a reader needs Decrypt and DescribeKey.
 */
export const tableKeyActions = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
] as const;

/** `describe`: DescribeTable only (health); `read`: item reads; `readWrite`: and writes. */
export type TableAccess = 'describe' | 'read' | 'readWrite';

/** The alias that API Gateway and event source mappings invoke; CodeDeploy moves it. */
export const liveAliasName = 'live';
/** `read`: `events:DescribeEventBus` only (the readiness check); `publish`: `events:PutEvents`. */
export type BusAccess = 'read' | 'publish';

export interface ServiceFunctionProps {
  /** Absolute path of the handler module. */
  entry: string;
  /**
   * Exported handler name.
   * @default 'handler'
   */
  handler?: string;
  /** @default - none */
  description?: string;
  /** @default Duration.seconds(10) */
  timeout?: Duration;
  /** @default 512 */
  memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  logRetention?: RetentionDays;
  /**
   * What happens to the log group when the function is removed.
   * @default RemovalPolicy.DESTROY
   */
  logRemovalPolicy?: RemovalPolicy;
  /** @default 'INFO' */
  logLevel?: LogLevel;
  /** Extra environment variables, on top of the Powertools ones. @default - none */
  environment?: Record<string, string>;
  /** @default - the account's unreserved pool */
  reservedConcurrentExecutions?: number;
  /**
   * A customer-managed key for the function's log group.
   * @default - CloudWatch Logs' own encryption
   */
  logEncryptionKey?: IKey;
}

export class ServiceFunction extends NodejsFunction {
  /** The function's own log group, with the configured retention. */
  readonly functionLogGroup: LogGroup;
  /**
   * `live`: the alias callers invoke, pointing at the version published by this deploy.
   * A stage that shifts traffic gradually hands it to CodeDeploy (../deployment.ts).
   */
  readonly liveAlias: Alias;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    // The log group and role exist before the function (super() takes them), so they sit
    // beside it in `scope` as `<id>Logs` and `<id>Role`.
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
      ...(props.logEncryptionKey === undefined ? {} : { encryptionKey: props.logEncryptionKey }),
    });
    // An own role instead of the AWSLambdaBasicExecutionRole managed policy, whose log
    // permissions cover every log group in the account: this one may write only its own.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      ...(props.description === undefined ? {} : { description: props.description }),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 512,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      logGroup,
      role,
      // Versions outlive the deploy that replaced them, so that an alias can be pointed back
      // at the previous one (docs/deploy.md, "Rolling back").
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
      environment: {
        POWERTOOLS_SERVICE_NAME: powertoolsServiceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
        LOG_LEVEL: props.logLevel ?? 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        // The map goes into the asset (to decode a stack trace offline) without the
        // sourceMappingURL comment, so `--enable-source-maps` never parses it at cold start:
        // `npm run bench` measured a linked map at about +10% import CPU and heap.
        sourceMap: true,
        sourceMapMode: SourceMapMode.EXTERNAL,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // The SDK is bundled: a pinned, tree-shaken copy instead of whatever the runtime ships.
        externalModules: [],
        banner: esmRequireBanner,
        // esbuild's CLI prints a size summary per bundle at its default `info` level: warnings and errors only.
        logLevel: EsbuildLogLevel.WARNING,
        esbuildArgs: { ...bundlingAliases },
      },
    });
    this.functionLogGroup = logGroup;
    // Every deploy publishes a version (a hash of the code and configuration names it), so
    // an alias can move between two versions and move back.
    this.liveAlias = new Alias(this, 'LiveAlias', { aliasName: liveAliasName, version: this.currentVersion });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
    });
  }

  /**
   * Sets `TABLE_NAME` and grants {@link tableDescribeActions} on the table (`describe`), or
   * {@link tableReadActions} (`read`) or those and {@link tableWriteActions} (`readWrite`)
   * on the table and its named indexes only; and the key's use when the table has a
   * customer-managed key.
   * @param indexNames the indexes the function may query; @default the routes table's GSIs
   */
  bindTable(
    table: ITable,
    access: TableAccess,
    indexNames: readonly string[] = routesTable.globalSecondaryIndexes.map((index) => index.indexName),
  ): this {
    this.addEnvironment('TABLE_NAME', table.tableName);
    if (access === 'describe') {
      this.addToRolePolicy(new PolicyStatement({ actions: [...tableDescribeActions], resources: [table.tableArn] }));
      return this;
    }
    const actions = access === 'read' ? [...tableReadActions] : [...tableReadActions, ...tableWriteActions];
    this.addToRolePolicy(
      new PolicyStatement({
        actions,
        resources: [table.tableArn, ...indexNames.map((name) => `${table.tableArn}/index/${name}`)],
      }),
    );
    if (table.encryptionKey !== undefined) {
      const keyActions = access === 'read' ? ['kms:Decrypt', 'kms:DescribeKey'] : [...tableKeyActions];
      this.addToRolePolicy(new PolicyStatement({ actions: keyActions, resources: [table.encryptionKey.keyArn] }));
    }
    return this;
  }

  /** Sets `EVENT_BUS_NAME` and grants `events:DescribeEventBus` (`read`) or `events:PutEvents` (`publish`). */
  bindBus(bus: IEventBus, access: BusAccess): this {
    this.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    if (access === 'publish') {
      bus.grantPutEventsTo(this);
    } else {
      this.addToRolePolicy(new PolicyStatement({ actions: ['events:DescribeEventBus'], resources: [bus.eventBusArn] }));
    }
    return this;
  }
}
