import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { publisherEntry, publisherMapping } from '#infra/constructs/event-publisher';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { eventSource } from '#infra/resources';
import {
  actionsOf,
  environmentOf,
  liveAliasOf,
  resourcesOf,
  synth,
  type Synthesised,
  type TemplateResource,
} from '#test/infra/synth';

const publisherDescription = 'Publishes route events: the routes table stream (revision inserts) to the event bus';

function publisherFunction(template: Template): TemplateResource {
  const found = resourcesOf(template, 'AWS::Lambda::Function').filter(
    (fn) => fn.Properties.Description === publisherDescription,
  );
  expect(found).toHaveLength(1);
  return found[0] as TemplateResource;
}

function policyStatements(template: Template, fn: TemplateResource): { Action: string | string[]; Resource: unknown }[] {
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter((policy) => (policy.Properties.Roles as { Ref?: string }[]).some((role) => role.Ref === roleId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** Handler modules under functions/ that return `batchItemFailures` (through Powertools). */
function modulesReportingItemFailures(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(path.join(repoRoot, relative), 'utf8');
        if (/processPartialResponse|batchItemFailures/.test(source)) found.push(relative);
      }
    }
  };
  walk('functions');
  return found;
}

describe('event publisher', () => {
  let dev: Synthesised;
  let template: Template;

  beforeAll(() => {
    dev = synth({ stage: 'dev' });
    template = dev.template;
  });

  it('reads the table stream from the start, in batches of 100, only for inserts of revision items, through the live alias', () => {
    const alias = liveAliasOf(template, publisherFunction(template));
    const [aliasMapping] = resourcesOf(template, 'AWS::Lambda::EventSourceMapping');
    // `<function name>:live`, the qualified name of the alias.
    expect(JSON.stringify(aliasMapping?.Properties.FunctionName)).toContain(`{"Ref":"${alias.id}"}`);
    expect(JSON.stringify(aliasMapping?.Properties.FunctionName)).toContain('":live"');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: Match.anyValue(),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: 12 * 3600,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'REV#' }] } } } }) }],
      },
    });
    const mapping = resourcesOf(template, 'AWS::Lambda::EventSourceMapping')[0];
    expect(JSON.stringify(mapping?.Properties.EventSourceArn)).toContain('StreamArn');
    // Retried until too old: a fixed count would give up within seconds of an outage.
    expect(publisherMapping.retryAttempts).toBe(-1);
  });

  it('alarms when the publisher lags the stream by more than five minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Threshold: 300_000,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: publisherFunction(template).id } }],
    });
  });

  it('reports batch item failures exactly where a handler returns them', () => {
    // The only handler returning batchItemFailures is the publisher's...
    expect(modulesReportingItemFailures()).toEqual([publisherEntry]);
    const source = readFileSync(path.join(repoRoot, publisherEntry), 'utf8');
    expect(source).toContain('EventType.DynamoDBStreams');
    // ...and the only mapping reporting them invokes the publisher.
    const fn = publisherFunction(template);
    const reporting = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').filter((mapping) =>
      ((mapping.Properties.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
    );
    expect(reporting).toHaveLength(1);
    expect(JSON.stringify(reporting[0]?.Properties.FunctionName)).toContain(`{"Ref":"${liveAliasOf(template, fn).id}"}`);
  });

  it('sends records it gives up on to an encrypted dead-letter queue that raises an alarm', () => {
    const mapping = resourcesOf(template, 'AWS::Lambda::EventSourceMapping')[0];
    const destination = (mapping?.Properties.DestinationConfig as { OnFailure: { Destination: { 'Fn::GetAtt': [string, string] } } })
      .OnFailure.Destination['Fn::GetAtt'];
    expect(destination[1]).toBe('Arn');
    const queue = resourcesOf(template, 'AWS::SQS::Queue').find((q) => q.id === destination[0]);
    expect(queue?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [destination[0], 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    // SSL only.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: destination[0] }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('may put events on the bus and nowhere else, read the stream, send to its dead-letter queue, and write nothing to the table', () => {
    const fn = publisherFunction(template);
    const statements = policyStatements(template, fn);
    const putEvents = statements.filter((statement) => asList(statement.Action).includes('events:PutEvents'));
    expect(putEvents).toHaveLength(1);
    expect(JSON.stringify(putEvents[0]?.Resource)).toMatch(/EventBus/);
    expect(putEvents[0]?.Resource).not.toBe('*');
    const actions = actionsOf(template, fn);
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'sqs:SendMessage']),
    );
    const forbiddenActions = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
      'dynamodb:DeleteItem', 'dynamodb:Scan', 'events:*', '<managed policy>'];
    for (const forbidden of forbiddenActions) {
      expect(actions).not.toContain(forbidden);
    }
    const streamReads = statements.find((statement) => asList(statement.Action).includes('dynamodb:GetRecords'));
    expect(JSON.stringify(streamReads?.Resource)).toContain('StreamArn');
    expect(environmentOf(fn)).toMatchObject({ EVENT_BUS_NAME: expect.anything() });
    expect(environmentOf(fn)).not.toHaveProperty('TABLE_NAME');
  });

  it("has a replay function for operators: reads the table, puts events on the bus, runs up to 15 minutes, named in the stack's outputs", () => {
    const found = resourcesOf(template, 'AWS::Lambda::Function').filter(
      (fn) => fn.Properties.Description === "Publishes a range of a tenant's history again from the revisions (operator-invoked)",
    );
    expect(found).toHaveLength(1);
    const fn = found[0] as TemplateResource;
    expect(fn.Properties.Timeout).toBe(900);
    const actions = actionsOf(template, fn);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'events:PutEvents']));
    for (const forbidden of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'events:*']) {
      expect(actions).not.toContain(forbidden);
    }
    expect(environmentOf(fn)).toMatchObject({ TABLE_NAME: expect.anything(), EVENT_BUS_NAME: expect.anything() });
    // The output names this very function (operators invoke it by that name).
    const outputs = (template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(outputs.ReplayFunctionName?.Value).toEqual({ Ref: fn.id });
  });

  it('ships a consumer: a rule for every traffic-manager event to the route-changes queue, with a dead-letter queue', () => {
    const rules = resourcesOf(template, 'AWS::Events::Rule').filter(
      (rule) => JSON.stringify(rule.Properties.EventPattern) === JSON.stringify({ source: [eventSource] }),
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0] as TemplateResource;
    expect(JSON.stringify(rule.Properties.EventBusName)).toMatch(/EventBus/);
    const targets = rule.Properties.Targets as {
      Arn: { 'Fn::GetAtt': [string, string] };
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [string, string] } };
      RetryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number };
    }[];
    expect(targets).toHaveLength(1);
    const [target] = targets;
    const queueId = target?.Arn['Fn::GetAtt'][0];
    const deadLetterId = target?.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    expect(target?.RetryPolicy).toEqual({ MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86_400 });
    const queue = resourcesOf(template, 'AWS::SQS::Queue').find((q) => q.id === queueId);
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] }, maxReceiveCount: 5 },
    });
    // EventBridge may send to the queue and to its dead-letter queue, for this rule only.
    for (const id of [queueId, deadLetterId]) {
      const policies = resourcesOf(template, 'AWS::SQS::QueuePolicy').filter((policy) =>
        (policy.Properties.Queues as { Ref?: string }[]).some((queueRef) => queueRef.Ref === id),
      );
      const statements = policies.flatMap(
        (policy) => (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
      );
      const allows = statements.filter((statement) => statement.Effect === 'Allow');
      expect(allows).toEqual([
        expect.objectContaining({
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule.id, 'Arn'] } } },
        }),
      ]);
      expect(asList(allows[0]?.Action as string | string[])).toContain('sqs:SendMessage');
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterId, 'QueueName'] } }],
    });
    template.hasOutput('RouteChangesQueueUrl', { Value: { Ref: queueId } });
  });

  it('keeps its logs longer and logs at INFO in prod', () => {
    const prod = synth({ stage: 'prod' }).template;
    const fn = publisherFunction(prod);
    expect(environmentOf(fn)).toMatchObject({ LOG_LEVEL: 'INFO' });
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 60, TracingConfig: { Mode: 'Active' } });
  });
});
