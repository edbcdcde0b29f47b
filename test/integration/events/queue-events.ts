/**
 * Reading route events where they land: an SQS queue subscribed to the bus by a rule.
 * Each message body is the event as EventBridge delivers it, checked against the published
 * schema (RouteEventSchema).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { RouteEventSchema, type RouteEvent } from '#shared/events/route-event.schema';

/**
 * Parses a delivered event. moto's default target input (moto/events/utils.py,
 * `DEFAULT_EVENT_INPUT_TEMPLATE`) leaves out the envelope's `account`, which AWS always
 * sends; it is filled in here so the rest of the envelope is still checked.
 */
export function parseDeliveredEvent(body: string): RouteEvent {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  return RouteEventSchema.parse({ account: '000000000000', ...parsed });
}

/** Receives (and deletes) events until `count` arrived or `timeoutMs` passed. */
export async function receiveRouteEvents(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  timeoutMs: number,
): Promise<RouteEvent[]> {
  const events: RouteEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages) events.push(parseDeliveredEvent(message.Body ?? ''));
    if (Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
        }),
      );
    }
  }
  return events;
}
