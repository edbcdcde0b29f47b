import { Match } from 'aws-cdk-lib/assertions';
import { eventBus, eventSource, routesTable } from '#infra/resources';
import { resourcesOf, synth, type Synthesised } from '#test/infra/synth';

describe('stateful stack', () => {
  let dev: Synthesised;
  let prod: Synthesised;

  beforeAll(() => {
    dev = synth({ stage: 'dev' });
    prod = synth({ stage: 'prod' });
  });

  it('declares one on-demand table with PITR, a NEW_AND_OLD_IMAGES stream and TTL', () => {
    dev.statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', 1);
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
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
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
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
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', { TableName: Match.absent() });
  });

  it('destroys the table and the bus with the stack in dev, without deletion protection', () => {
    dev.statefulTemplate.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    dev.statefulTemplate.hasResource('AWS::Events::EventBus', { DeletionPolicy: 'Delete' });
    expect(dev.stateful.terminationProtection).toBe(false);
  });

  it('retains the table, the bus and the archive in prod, with deletion and termination protection', () => {
    prod.statefulTemplate.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    prod.statefulTemplate.hasResource('AWS::Events::EventBus', { DeletionPolicy: 'Retain' });
    prod.statefulTemplate.hasResource('AWS::Events::Archive', { DeletionPolicy: 'Retain' });
    expect(prod.stateful.terminationProtection).toBe(true);
  });

  it('declares the event bus with an archive of every traffic-manager event', () => {
    dev.statefulTemplate.resourceCountIs('AWS::Events::EventBus', 1);
    const [bus] = resourcesOf(dev.statefulTemplate, 'AWS::Events::EventBus');
    dev.statefulTemplate.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [bus?.id, 'Arn'] },
      EventPattern: { source: [eventSource] },
      RetentionDays: eventBus.archiveRetentionDays,
      ArchiveName: Match.absent(),
    });
  });

  it('outputs the table name and the event bus name', () => {
    const outputs = dev.statefulTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [table] = resourcesOf(dev.statefulTemplate, 'AWS::DynamoDB::Table');
    const [bus] = resourcesOf(dev.statefulTemplate, 'AWS::Events::EventBus');
    expect(outputs.TableName?.Value).toEqual({ Ref: table?.id });
    expect(outputs.EventBusName?.Value).toEqual({ Ref: bus?.id });
  });

  it('names the stacks after the stage', () => {
    expect(dev.stateful.stackName).toBe('TrafficManager-dev-Stateful');
    expect(prod.stateless.stackName).toBe('TrafficManager-prod-Stateless');
  });
});
