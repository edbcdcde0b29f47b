/**
 * The local stack (local/provision.ts) and the CDK stack must declare the same table and
 * archive: handlers tested against the emulator then run against the same shape in AWS.
 */
import { eventBus, routeChanges, routesTable } from '#infra/resources';
import { createTableInput } from '#local/provision';
import { resourcesOf, synth } from '#test/infra/synth';

type Named = { AttributeName?: string; IndexName?: string };
const byName = (a: Named, b: Named): number =>
  (a.IndexName ?? a.AttributeName ?? '').localeCompare(b.IndexName ?? b.AttributeName ?? '');

describe('the synthesised table, bus and archive agree with the local stack', () => {
  const { template } = synth({ stage: 'dev' });
  const [table] = resourcesOf(template, 'AWS::DynamoDB::Table');
  const [archive] = resourcesOf(template, 'AWS::Events::Archive');
  const local = createTableInput('any-name');

  it('has the same key schema', () => {
    expect(table?.Properties.KeySchema).toEqual(local.KeySchema);
  });

  it('has the same attribute definitions', () => {
    const synthesised = [...(table?.Properties.AttributeDefinitions as Named[])].sort(byName);
    expect(synthesised).toEqual([...(local.AttributeDefinitions ?? [])].sort(byName));
  });

  it('has the same global secondary indexes', () => {
    const synthesised = [...(table?.Properties.GlobalSecondaryIndexes as Named[])].sort(byName);
    expect(synthesised).toEqual([...(local.GlobalSecondaryIndexes ?? [])].sort(byName));
  });

  it('has the same billing mode and stream', () => {
    expect(table?.Properties.BillingMode).toBe(local.BillingMode);
    // CloudFormation has no StreamEnabled: a StreamSpecification is the stream.
    expect(local.StreamSpecification?.StreamEnabled).toBe(true);
    expect(table?.Properties.StreamSpecification).toEqual({
      StreamViewType: local.StreamSpecification?.StreamViewType,
    });
  });

  it('has the TTL attribute the local stack enables', () => {
    expect(table?.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: routesTable.timeToLiveAttribute,
      Enabled: true,
    });
  });

  it('archives with the pattern and retention the local stack uses', () => {
    expect(archive?.Properties.EventPattern).toEqual(eventBus.archivePattern);
    expect(archive?.Properties.RetentionDays).toBe(eventBus.archiveRetentionDays);
  });
});

describe('the route-changes consumer agrees with the local stack', () => {
  const { template } = synth({ stage: 'dev' });
  const rules = resourcesOf(template, 'AWS::Events::Rule');
  const queues = resourcesOf(template, 'AWS::SQS::Queue');

  it('matches the same events', () => {
    expect(rules.map((rule) => rule.Properties.EventPattern)).toContainEqual(routeChanges.pattern);
  });

  it('keeps messages as long, redrives after as many receives, and hides them as long', () => {
    const queue = queues.find((q) => q.Properties.RedrivePolicy !== undefined);
    expect(queue?.Properties).toMatchObject({
      MessageRetentionPeriod: routeChanges.queueRetentionDays * 86_400,
      VisibilityTimeout: routeChanges.visibilityTimeoutSeconds,
      RedrivePolicy: { maxReceiveCount: routeChanges.maxReceiveCount },
    });
  });
});
