/**
 * Builds the whole CDK app for one stage: its one stack, and the cdk-nag AwsSolutions
 * checks. `infra/app.ts` calls it with the CLI's context; tests call it with their own.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EndpointDefinition } from '../shared/http/endpoints.ts';
import { authFromContext, stageFromContext, type StageSettings } from './stage.ts';
import { TrafficManagerStack } from './traffic-manager-stack.ts';

export interface TrafficManagerOptions {
  /** @default endpointList - every endpoint */
  endpoints?: readonly EndpointDefinition[];
}

export interface TrafficManager {
  stage: StageSettings;
  stack: TrafficManagerStack;
}

/** The stack name carries the stage so that dev and prod can share an account. */
export function stackName(stage: string): string {
  return `TrafficManager-${stage}`;
}

export function buildTrafficManager(app: App, options: TrafficManagerOptions = {}): TrafficManager {
  const stage = stageFromContext(app.node);
  const auth = authFromContext(app.node, stage.name);
  const apiKeyRequired = String(app.node.tryGetContext('apiKeyRequired') ?? 'false') === 'true';
  const env = {
    ...(process.env.CDK_DEFAULT_ACCOUNT === undefined ? {} : { account: process.env.CDK_DEFAULT_ACCOUNT }),
    ...(process.env.CDK_DEFAULT_REGION === undefined ? {} : { region: process.env.CDK_DEFAULT_REGION }),
  };
  const name = stackName(stage.name);

  const stack = new TrafficManagerStack(app, name, {
    stackName: name,
    description: `traffic-manager: routes table, event bus, functions, API and observability (${stage.name})`,
    env,
    tags: { project: 'traffic-manager', stage: stage.name },
    stage,
    auth,
    apiKeyRequired,
    ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stage, stack };
}
