import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { repoRoot } from '#infra/constructs/endpoint-api';
import {
  esmRequireBanner,
  ServiceFunction,
  tableReadActions,
  tableWriteActions,
} from '#infra/constructs/service-function';
import { actionsOf, environmentOf, resourcesOf, type TemplateResource } from '#test/infra/synth';

interface Fixture {
  template: Template;
  functions: Record<'reader' | 'writer' | 'health' | 'publisher', TemplateResource>;
  bundle: string;
}

/** One stack, four functions bound four ways, bundled for real. */
function build(): Fixture {
  const app = new App();
  const stack = new Stack(app, 'ServiceFunctionTest');
  const table = new Table(stack, 'Table', {
    partitionKey: { name: 'PK', type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
  });
  const bus = new EventBus(stack, 'Bus');
  const entry = path.join(repoRoot, 'test/infra/fixtures/sdk-handler.ts');
  const make = (id: string): ServiceFunction => new ServiceFunction(stack, id, { entry, description: id });
  make('reader').bindTable(table, 'read');
  make('writer').bindTable(table, 'readWrite');
  make('health').bindTable(table, 'read').bindBus(bus, 'read');
  make('publisher').bindBus(bus, 'publish');

  const assembly = app.synth();
  const template = Template.fromStack(stack);
  const byDescription = (id: string): TemplateResource => {
    const found = resourcesOf(template, 'AWS::Lambda::Function').find((fn) => fn.Properties.Description === id);
    if (found === undefined) throw new Error(`no function ${id}`);
    return found;
  };
  const reader = byDescription('reader');
  const s3Key = (reader.Properties.Code as { S3Key: string }).S3Key;
  const bundle = path.join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs');
  return {
    template,
    functions: {
      reader,
      writer: byDescription('writer'),
      health: byDescription('health'),
      publisher: byDescription('publisher'),
    },
    bundle,
  };
}

describe('ServiceFunction', () => {
  let fixture: Fixture;

  beforeAll(() => {
    fixture = build();
  }, 60_000);

  it('bundles an ES module with a source map and the require banner', () => {
    expect(existsSync(fixture.bundle)).toBe(true);
    expect(existsSync(`${fixture.bundle}.map`)).toBe(true);
    const code = readFileSync(fixture.bundle, 'utf8');
    expect(code.startsWith(esmRequireBanner)).toBe(true);
    expect(/export\s*\{[^}]*as handler\s*\}/.test(code)).toBe(true);
  });

  it('bundles the AWS SDK instead of importing it from the runtime', () => {
    // The bundle runs from a directory with no node_modules (see below); here, statically:
    // the DynamoDB client's code is inside, and nothing is imported from @aws-sdk.
    const code = readFileSync(fixture.bundle, 'utf8');
    expect(code.includes('DynamoDB_20120810')).toBe(true);
    expect(/from\s*"@aws-sdk\//.test(code)).toBe(false);
  });

  it('produces a bundle that loads and runs on Node.js from a bare directory, CommonJS dependencies included', () => {
    const script = `const m = await import(${JSON.stringify(fixture.bundle)}); console.log(JSON.stringify(await m.handler()));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', POWERTOOLS_TRACE_ENABLED: 'false' },
      encoding: 'utf8',
    });
    // The first error line names the problem (e.g. `Dynamic require of "util"`) without the minified source.
    const firstError = run.stderr.split('\n').find((line) => /^\w*Error/.test(line.trim())) ?? '';
    expect({ status: run.status, error: firstError }).toEqual({ status: 0, error: '' });
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '')).toEqual({
      statusCode: 200,
      body: JSON.stringify({ region: 'us-east-1' }),
    });
  });

  it('bindTable("read") grants read actions only and sets TABLE_NAME', () => {
    const actions = actionsOf(fixture.template, fixture.functions.reader);
    expect(actions).toEqual(expect.arrayContaining([...tableReadActions]));
    expect(actions.filter((a) => (tableWriteActions as readonly string[]).includes(a))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('events:'))).toEqual([]);
    expect(environmentOf(fixture.functions.reader)).toHaveProperty('TABLE_NAME');
    expect(environmentOf(fixture.functions.reader)).not.toHaveProperty('EVENT_BUS_NAME');
  });

  it('bindTable("readWrite") adds the write actions', () => {
    const actions = actionsOf(fixture.template, fixture.functions.writer);
    expect(actions).toEqual(expect.arrayContaining([...tableReadActions, ...tableWriteActions]));
  });

  it('bindBus("read") grants events:DescribeEventBus and nothing else on the bus', () => {
    const actions = actionsOf(fixture.template, fixture.functions.health);
    expect(actions.filter((a) => a.startsWith('events:'))).toEqual(['events:DescribeEventBus']);
    expect(environmentOf(fixture.functions.health)).toHaveProperty('EVENT_BUS_NAME');
  });

  it('bindBus("publish") grants events:PutEvents and no table access', () => {
    const actions = actionsOf(fixture.template, fixture.functions.publisher);
    expect(actions.filter((a) => a.startsWith('events:'))).toEqual(['events:PutEvents']);
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    expect(environmentOf(fixture.functions.publisher)).not.toHaveProperty('TABLE_NAME');
  });

  it('lets the function write only to its own log group', () => {
    const fn = fixture.functions.reader;
    const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policy = resourcesOf(fixture.template, 'AWS::IAM::Policy').find((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    const logStatement = (policy?.Properties.PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] })
      .Statement.find((s) => s.Action.includes('logs:PutLogEvents'));
    expect(logStatement?.Resource).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    fixture.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});
