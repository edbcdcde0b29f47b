/**
 * What local/provision.ts created in the test run's emulator: the route-changes consumer as
 * infra/constructs/event-publisher.ts declares it (test/infra/resources-agree.test.ts
 * checks the template against the same definitions).
 */
import { DescribeRuleCommand, ListTargetsByRuleCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { eventSource, localNames, routeChanges } from '#infra/resources';
import { testEventBridge, testSqs } from '#test/support/aws';

const events = testEventBridge();
const sqs = testSqs();

afterAll(() => {
  events.destroy();
  sqs.destroy();
});

describe('the local route-changes consumer', () => {
  it('is a rule with the shared pattern, targeting the queue with its dead-letter queue', async () => {
    const rule = await events.send(
      new DescribeRuleCommand({ Name: localNames.routeChangesRuleName, EventBusName: localNames.eventBusName }),
    );
    expect(JSON.parse(rule.EventPattern ?? '{}')).toEqual(routeChanges.pattern);
    const { Targets } = await events.send(
      new ListTargetsByRuleCommand({ Rule: localNames.routeChangesRuleName, EventBusName: localNames.eventBusName }),
    );
    expect(Targets?.[0]?.Arn).toContain(localNames.routeChangesQueueName);
    expect(Targets?.[0]?.DeadLetterConfig?.Arn).toContain(localNames.routeChangesDeadLetterQueueName);
  });

  it('redrives after the shared number of receives', async () => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: localNames.routeChangesQueueName }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'] }),
    );
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: routeChanges.maxReceiveCount });
    expect(Attributes?.VisibilityTimeout).toBe(String(routeChanges.visibilityTimeoutSeconds));
  });

  it('receives an event of the service put on the bus', async () => {
    const marker = randomUUID();
    await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: eventSource, DetailType: 'Provisioning Probe', Detail: JSON.stringify({ marker }), EventBusName: localNames.eventBusName },
        ],
      }),
    );
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: localNames.routeChangesQueueName }));
    let found = false;
    // Other tests publish to the same bus: read until the probe shows up, deleting what is read.
    for (let round = 0; round < 50 && !found; round += 1) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const message of Messages) {
        if (message.Body?.includes(marker) === true) found = true;
        await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
    expect(found).toBe(true);
  });
});
