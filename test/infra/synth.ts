/**
 * Synthesises the CDK app the way `infra/app.ts` does, with test context. Bundling is
 * skipped unless asked for (the template is the same; the asset is a placeholder), and the
 * endpoints can be the whole table pointed at a stand-in handler, so wiring tests do not
 * depend on every handler file existing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { buildTrafficManager, type TrafficManager } from '#infra/traffic-manager';
import { endpointList, type EndpointDefinition } from '#shared/http/endpoints';

const cdkJsonContext = (
  JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

export const fixtureEntry = 'test/infra/fixtures/handler.ts';

/** The whole endpoint table, each endpoint's handler replaced by the fixture. */
export const fixtureEndpoints: readonly EndpointDefinition[] = endpointList.map((endpoint) => ({
  ...endpoint,
  entry: fixtureEntry,
}));

export const testAuthContext = {
  jwksUrl: 'https://idp.test.example/.well-known/jwks.json',
  issuer: 'https://idp.test.example/',
  audience: 'traffic-manager-test',
} as const;

export interface SynthOptions {
  stage?: 'dev' | 'prod';
  context?: Record<string, string>;
  /** @default fixtureEndpoints; `null` for the stack's default (the real table). */
  endpoints?: readonly EndpointDefinition[] | null;
  /** @default false */
  bundle?: boolean;
}

export interface Synthesised extends TrafficManager {
  app: App;
  /** The stage's one stack. */
  template: Template;
}

export function synth(options: SynthOptions = {}): Synthesised {
  const app = new App({
    context: {
      // The feature flags `cdk synth` applies, so tests see the template the CLI produces.
      ...cdkJsonContext,
      stage: options.stage ?? 'dev',
      ...testAuthContext,
      ...options.context,
      ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const endpoints = options.endpoints === undefined ? fixtureEndpoints : options.endpoints;
  const built = buildTrafficManager(app, endpoints === null ? {} : { endpoints });
  return {
    ...built,
    app,
    template: Template.fromStack(built.stack),
  };
}

/** A resource of the template: its logical id and CloudFormation body. */
export interface TemplateResource {
  id: string;
  Type: string;
  Properties: Record<string, unknown>;
}

export function resourcesOf(template: Template, type: string): TemplateResource[] {
  const found = template.findResources(type) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  return Object.entries(found).map(([id, resource]) => ({ id, Type: resource.Type, Properties: resource.Properties ?? {} }));
}

interface FunctionProperties {
  Description: string;
  Role: { 'Fn::GetAtt': [string, string] };
  Environment?: { Variables?: Record<string, unknown> };
}

/** The Lambda function of each endpoint, found by the `<METHOD> <path>:` description. */
export function functionOf(template: Template, endpoint: Pick<EndpointDefinition, 'method' | 'path'>): TemplateResource {
  const prefix = `${endpoint.method} ${endpoint.path}: `;
  const matches = resourcesOf(template, 'AWS::Lambda::Function').filter((fn) =>
    (fn.Properties as unknown as FunctionProperties).Description.startsWith(prefix),
  );
  if (matches.length !== 1) throw new Error(`expected one function for ${prefix}, found ${matches.length}`);
  return matches[0] as TemplateResource;
}

export function environmentOf(fn: TemplateResource): Record<string, unknown> {
  return (fn.Properties as unknown as FunctionProperties).Environment?.Variables ?? {};
}

/** Every IAM action granted to the function's role, across the role's policies. */
export function actionsOf(template: Template, fn: TemplateResource): string[] {
  const roleId = (fn.Properties as unknown as FunctionProperties).Role['Fn::GetAtt'][0];
  const actions: string[] = [];
  for (const policy of resourcesOf(template, 'AWS::IAM::Policy')) {
    const roles = policy.Properties.Roles as { Ref?: string }[];
    if (!roles.some((role) => role.Ref === roleId)) continue;
    const document = policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] };
    for (const statement of document.Statement) {
      actions.push(...(Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
    }
  }
  const role = resourcesOf(template, 'AWS::IAM::Role').find((r) => r.id === roleId);
  if (role === undefined) throw new Error(`role ${roleId} not in template`);
  if (role.Properties.ManagedPolicyArns !== undefined) actions.push('<managed policy>');
  return actions;
}

/** The `live` alias of a function: what API Gateway and the stream mapping invoke. */
export function liveAliasOf(template: Template, fn: TemplateResource): TemplateResource {
  const found = resourcesOf(template, 'AWS::Lambda::Alias').filter(
    (alias) => JSON.stringify(alias.Properties.FunctionName) === JSON.stringify({ Ref: fn.id }),
  );
  if (found.length !== 1) throw new Error(`expected one alias of ${fn.id}, found ${found.length}`);
  return found[0] as TemplateResource;
}

/** Every alarm of the template with its logical id. */
export function alarmsOf(template: Template): TemplateResource[] {
  return resourcesOf(template, 'AWS::CloudWatch::Alarm');
}
