import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { eventBus, eventSource, routesTable } from '#infra/resources';
import { resourcesOf, synth, type Synthesised } from '#test/infra/synth';

describe('route data: the table, the bus and its archive', () => {
  let dev: Synthesised;
  let prod: Synthesised;

  beforeAll(() => {
    dev = synth({ stage: 'dev' });
    prod = synth({ stage: 'prod' });
  });

  it('declares one on-demand table with PITR, a NEW_AND_OLD_IMAGES stream and TTL', () => {
    dev.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: routesTable.timeToLiveAttribute, Enabled: true },
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
    });
  });

  it('declares the ByTenant index over GSI1PK and GSI1SK, projecting all attributes', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'ByTenant',
          KeySchema: [
            { AttributeName: 'GSI1PK', KeyType: 'HASH' },
            { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('lets CloudFormation name the table', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: Match.absent() });
  });

  it('destroys the table and the bus with the stack in dev, without deletion protection', () => {
    dev.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    dev.template.hasResource('AWS::Events::EventBus', { DeletionPolicy: 'Delete' });
    expect(dev.stack.terminationProtection).toBe(false);
  });

  it('retains the table, the bus and the archive in prod, with deletion and termination protection', () => {
    prod.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    prod.template.hasResource('AWS::Events::EventBus', { DeletionPolicy: 'Retain' });
    prod.template.hasResource('AWS::Events::Archive', { DeletionPolicy: 'Retain' });
    expect(prod.stack.terminationProtection).toBe(true);
  });

  it('declares the event bus with an archive of every traffic-manager event', () => {
    dev.template.resourceCountIs('AWS::Events::EventBus', 1);
    const [bus] = resourcesOf(dev.template, 'AWS::Events::EventBus');
    dev.template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [bus?.id, 'Arn'] },
      EventPattern: { source: [eventSource] },
      RetentionDays: eventBus.archiveRetentionDays,
      ArchiveName: Match.absent(),
    });
  });

  it('outputs the table name and the event bus name', () => {
    const outputs = dev.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [table] = resourcesOf(dev.template, 'AWS::DynamoDB::Table');
    const [bus] = resourcesOf(dev.template, 'AWS::Events::EventBus');
    expect(outputs.TableName?.Value).toEqual({ Ref: table?.id });
    expect(outputs.EventBusName?.Value).toEqual({ Ref: bus?.id });
  });

  it('builds one stack per stage, named after the stage', () => {
    expect(dev.app.node.children.filter((child) => child instanceof Stack).map((stack) => (stack as Stack).stackName)).toEqual([
      'TrafficManager-dev',
    ]);
    expect(prod.stack.stackName).toBe('TrafficManager-prod');
  });
});
