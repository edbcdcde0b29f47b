import { Match } from 'aws-cdk-lib/assertions';
import { endpointList } from '#shared/http/endpoints';
import { alarmsOf, functionOf, liveAliasOf, resourcesOf, synth, type Synthesised } from '#test/infra/synth';

describe('canary deploys', () => {
  let dev: Synthesised;
  let prod: Synthesised;

  beforeAll(() => {
    dev = synth({ stage: 'dev' });
    prod = synth({ stage: 'prod' });
  });

  it.each(['dev', 'prod'] as const)('publishes every function as a version behind a live alias (%s)', (stage) => {
    const { template } = stage === 'dev' ? dev : prod;
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(endpointList.length + 2);
    template.resourceCountIs('AWS::Lambda::Version', functions.length);
    // Old versions are kept, so that an alias can go back to one.
    for (const version of Object.values(template.findResources('AWS::Lambda::Version'))) {
      expect((version as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
    }
    for (const fn of functions) {
      const alias = liveAliasOf(template, fn);
      expect(alias.Properties).toMatchObject({ Name: 'live', FunctionVersion: { 'Fn::GetAtt': [expect.any(String), 'Version'] } });
    }
  });

  it('lets dev move its aliases at once: no CodeDeploy', () => {
    dev.template.resourceCountIs('AWS::CodeDeploy::Application', 0);
    dev.template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    for (const alias of resourcesOf(dev.template, 'AWS::Lambda::Alias')) {
      expect(dev.template.toJSON().Resources[alias.id].UpdatePolicy).toBeUndefined();
    }
  });

  it('shifts every prod alias through CodeDeploy, 10% for 5 minutes then the rest', () => {
    const { template } = prod;
    template.resourceCountIs('AWS::CodeDeploy::Application', 1);
    template.hasResourceProperties('AWS::CodeDeploy::Application', { ComputePlatform: 'Lambda', ApplicationName: 'TrafficManager-prod' });
    const groups = resourcesOf(template, 'AWS::CodeDeploy::DeploymentGroup');
    expect(groups).toHaveLength(endpointList.length + 2);
    for (const group of groups) {
      expect(group.Properties).toMatchObject({
        DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
        AutoRollbackConfiguration: {
          Enabled: true,
          Events: expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM']),
        },
        AlarmConfiguration: { Enabled: true },
      });
    }
    for (const alias of resourcesOf(template, 'AWS::Lambda::Alias')) {
      expect(template.toJSON().Resources[alias.id].UpdatePolicy).toEqual({
        CodeDeployLambdaAliasUpdate: { ApplicationName: expect.anything(), DeploymentGroupName: expect.anything() },
      });
    }
  });

  it("rolls a function back on its own errors, its class's throttles and the API 5xx rate; resolve also on latency and stale answers", () => {
    const { template } = prod;
    const groups = resourcesOf(template, 'AWS::CodeDeploy::DeploymentGroup');
    const alarmNames = new Map(alarmsOf(template).map((alarm) => [alarm.id, alarm.Properties.AlarmName as string]));
    const watched = (endpointId: string): string[] => {
      const fn = functionOf(template, endpointList.find((e) => e.id === endpointId) ?? { method: 'GET', path: '?' });
      const alias = liveAliasOf(template, fn);
      const update = template.toJSON().Resources[alias.id].UpdatePolicy.CodeDeployLambdaAliasUpdate as { DeploymentGroupName: { Ref: string } };
      const group = groups.find((g) => g.id === update.DeploymentGroupName.Ref);
      const alarms = (group?.Properties.AlarmConfiguration as { Alarms: { Name: { Ref: string } }[] }).Alarms;
      return alarms.map((alarm) => alarmNames.get(alarm.Name.Ref) ?? '?').sort();
    };
    expect(watched('resolveRoute')).toEqual(
      [
        'TrafficManager-prod-Api5xxRate',
        'TrafficManager-prod-ResolveLatencyP99',
        'TrafficManager-prod-StaleResolveAnswers',
        'TrafficManager-prod-resolve-LambdaThrottles',
        'TrafficManager-prod-resolveRoute-Errors',
      ].sort(),
    );
    expect(watched('putRoute')).toEqual(
      ['TrafficManager-prod-Api5xxRate', 'TrafficManager-prod-putRoute-Errors', 'TrafficManager-prod-write-LambdaThrottles'].sort(),
    );
  });

  it('gives CodeDeploy one role with its documented Lambda policy', () => {
    prod.template.resourcePropertiesCountIs(
      'AWS::IAM::Role',
      { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'codedeploy.amazonaws.com' } })] }) },
      1,
    );
  });
});

describe('bulkheads', () => {
  it('reserves concurrency per function class: resolve apart from writes and from the publisher', () => {
    const { template, stage } = synth({ stage: 'prod' });
    const reserved = (endpointId: string): unknown =>
      functionOf(template, endpointList.find((e) => e.id === endpointId) ?? { method: 'GET', path: '?' }).Properties
        .ReservedConcurrentExecutions;
    expect(reserved('resolveRoute')).toBe(stage.functionClasses.resolve.reservedConcurrency);
    expect(reserved('getSnapshot')).toBe(stage.functionClasses.resolve.reservedConcurrency);
    expect(reserved('putRoute')).toBe(stage.functionClasses.write.reservedConcurrency);
    expect(reserved('getRoute')).toBe(stage.functionClasses.read.reservedConcurrency);
    expect(reserved('getLive')).toBe(stage.functionClasses.health.reservedConcurrency);
    const publisher = resourcesOf(template, 'AWS::Lambda::Function').find((fn) =>
      String(fn.Properties.Description).startsWith('Publishes route events'),
    );
    expect(publisher?.Properties).toMatchObject({
      ReservedConcurrentExecutions: stage.functionClasses.publisher.reservedConcurrency,
      Timeout: stage.functionClasses.publisher.timeoutSeconds,
      MemorySize: stage.functionClasses.publisher.memorySize,
    });
    expect(stage.functionClasses.resolve.reservedConcurrency).toBeGreaterThan(stage.functionClasses.write.reservedConcurrency ?? 0);
  });
});
