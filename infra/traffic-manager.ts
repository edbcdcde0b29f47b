/**
 * Builds the whole CDK app for one stage: the stage's stack, the account stack when the
 * context names the GitHub repository that deploys (`-c githubRepository=owner/name`), and
 * the cdk-nag AwsSolutions checks. `infra/app.ts` calls it with the CLI's context; tests call
 * it with their own.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EndpointDefinition } from '../shared/http/endpoints.ts';
import { TrafficManagerAccountStack } from './account-stack.ts';
import { authFromContext, ContextError, stageFromContext, stageResourceName, type StageSettings } from './stage.ts';
import { TrafficManagerStack } from './traffic-manager-stack.ts';

interface TrafficManagerOptions {
  /** @default endpointList - every endpoint */
  endpoints?: readonly EndpointDefinition[];
}

export interface TrafficManager {
  stage: StageSettings;
  stack: TrafficManagerStack;
  /** Present when `-c githubRepository` is given. */
  accountStack?: TrafficManagerAccountStack;
}


const accountStackName = 'TrafficManager-account';

function githubFromContext(app: App): { repository: string; environments: string[]; oidcProviderArn?: string } | undefined {
  const repository: unknown = app.node.tryGetContext('githubRepository');
  if (repository === undefined || repository === null || repository === '') return undefined;
  if (typeof repository !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(repository)) {
    throw new ContextError(`Invalid -c githubRepository=${JSON.stringify(repository)}: use owner/name`);
  }
  const environmentsRaw: unknown = app.node.tryGetContext('deployEnvironments') ?? 'dev,prod';
  if (typeof environmentsRaw !== 'string') throw new ContextError('Context "deployEnvironments" must be a comma-separated string');
  const environments = environmentsRaw
    .split(',')
    .map((environment) => environment.trim())
    .filter((environment) => environment !== '');
  const providerArn: unknown = app.node.tryGetContext('githubOidcProviderArn');
  return {
    repository,
    environments,
    ...(typeof providerArn === 'string' && providerArn !== '' ? { oidcProviderArn: providerArn } : {}),
  };
}

export function buildTrafficManager(app: App, options: TrafficManagerOptions = {}): TrafficManager {
  const stage = stageFromContext(app.node);
  const auth = authFromContext(app.node, stage.name);
  const github = githubFromContext(app);
  const apiKeyRequired = String(app.node.tryGetContext('apiKeyRequired') ?? 'false') === 'true';
  const env = {
    ...(process.env.CDK_DEFAULT_ACCOUNT === undefined ? {} : { account: process.env.CDK_DEFAULT_ACCOUNT }),
    ...(process.env.CDK_DEFAULT_REGION === undefined ? {} : { region: process.env.CDK_DEFAULT_REGION }),
  };
  const name = stageResourceName(stage.name);

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

  const accountStack =
    github === undefined
      ? undefined
      : new TrafficManagerAccountStack(app, accountStackName, {
          stackName: accountStackName,
          description: 'traffic-manager: GitHub OIDC deploy roles and the API Gateway logging role (once per account)',
          env,
          tags: { project: 'traffic-manager' },
          terminationProtection: true,
          github,
        });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stage, stack, ...(accountStack === undefined ? {} : { accountStack }) };
}
