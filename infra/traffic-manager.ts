/**
 * Builds the whole CDK app for one stage: the stateful stack, the stateless stack that
 * receives its resources, and the cdk-nag AwsSolutions checks. `infra/app.ts` calls it
 * with the CLI's context; tests call it with their own.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EndpointDefinition } from '../shared/http/endpoints.ts';
import { authFromContext, stageFromContext, type StageSettings } from './stage.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

export interface TrafficManagerOptions {
  /** @default endpointList - every endpoint */
  endpoints?: readonly EndpointDefinition[];
}

export interface TrafficManager {
  stage: StageSettings;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

/** Stack names carry the stage so that dev and prod can share an account. */
export function stackNames(stage: string): { stateful: string; stateless: string } {
  return { stateful: `TrafficManager-${stage}-Stateful`, stateless: `TrafficManager-${stage}-Stateless` };
}

export function buildTrafficManager(app: App, options: TrafficManagerOptions = {}): TrafficManager {
  const stage = stageFromContext(app.node);
  const auth = authFromContext(app.node, stage.name);
  const apiKeyRequired = String(app.node.tryGetContext('apiKeyRequired') ?? 'false') === 'true';
  const env = {
    ...(process.env.CDK_DEFAULT_ACCOUNT === undefined ? {} : { account: process.env.CDK_DEFAULT_ACCOUNT }),
    ...(process.env.CDK_DEFAULT_REGION === undefined ? {} : { region: process.env.CDK_DEFAULT_REGION }),
  };
  const names = stackNames(stage.name);
  const tags = { project: 'traffic-manager', stage: stage.name };

  const stateful = new StatefulStack(app, names.stateful, {
    stackName: names.stateful,
    description: `traffic-manager stateful resources: table, event bus (${stage.name})`,
    env,
    tags,
    stage,
  });
  const stateless = new StatelessStack(app, names.stateless, {
    stackName: names.stateless,
    description: `traffic-manager functions, API and observability (${stage.name})`,
    env,
    tags,
    stage,
    auth,
    apiKeyRequired,
    table: stateful.table,
    eventBus: stateful.eventBus,
    ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stage, stateful, stateless };
}
