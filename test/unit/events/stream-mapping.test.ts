import './unit-env.ts';
import { matchesFilter, passesPublisherFilter, publisherStreamMapping } from '#shared/events/stream-mapping';
import { giveUpCondition, streamFailureMessage } from '#local/stream-poller';
import { changeTo, revisionInsert, routeItemWrite } from './stream-fixtures.ts';

describe('the publisher mapping filter, one pattern for CDK and the local poller', () => {
  it('passes exactly the records the publisher publishes', () => {
    const insert = revisionInsert(changeTo(1));
    const routeWrite = routeItemWrite(changeTo(1));
    const modify = { ...insert, eventName: 'MODIFY' as const };
    expect([insert, routeWrite, modify].map(passesPublisherFilter)).toEqual([true, false, false]);
  });

  it('matches exact values and prefixes, and nothing that lacks a field', () => {
    const pattern = { a: ['x'], b: { c: [{ prefix: 'p#' }] } };
    expect(matchesFilter({ a: 'x', b: { c: 'p#1' } }, pattern)).toBe(true);
    expect(matchesFilter({ a: 'y', b: { c: 'p#1' } }, pattern)).toBe(false);
    expect(matchesFilter({ a: 'x', b: { c: 'q#1' } }, pattern)).toBe(false);
    expect(matchesFilter({ a: 'x' }, pattern)).toBe(false);
  });

  it('keeps the deployed limits: retried until 12 h old, bisected, partial batch responses', () => {
    expect(publisherStreamMapping).toMatchObject({
      retryAttempts: -1,
      maxRecordAgeSeconds: 12 * 3600,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      startingPosition: 'TRIM_HORIZON',
    });
  });
});

describe('giveUpCondition (whichever limit comes first)', () => {
  const limits = { retryAttempts: 2, maxRecordAgeSeconds: 60 };

  it('retries while both limits hold', () => {
    expect(giveUpCondition(limits, 2, 59)).toBeUndefined();
  });

  it('gives up after retryAttempts retries have failed (the first invocation is not a retry)', () => {
    expect(giveUpCondition(limits, 3, 1)).toBe('RetryAttemptsExhausted');
  });

  it('gives up a record older than maxRecordAgeSeconds, whatever the retries left', () => {
    expect(giveUpCondition(limits, 0, 61)).toBe('RecordAgeExceeded');
  });

  it('never gives up with -1 for both', () => {
    expect(giveUpCondition({ retryAttempts: -1, maxRecordAgeSeconds: -1 }, 10_000, 10 ** 9)).toBeUndefined();
  });
});

describe('streamFailureMessage', () => {
  it("has the shape of Lambda's on-failure message: the records' place in the stream, not the records", () => {
    const first = revisionInsert(changeTo(1));
    const last = revisionInsert(changeTo(2));
    first.dynamodb = { ...first.dynamodb, ApproximateCreationDateTime: 1_767_225_601 };
    last.dynamodb = { ...last.dynamodb, ApproximateCreationDateTime: 1_767_225_602 };
    const message = streamFailureMessage({
      records: [first, last],
      shardId: 'shardId-1',
      streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
      condition: 'RetryAttemptsExhausted',
      invokeCount: 3,
      functionError: false,
      now: new Date('2026-01-01T00:00:05.123Z'),
    });
    expect(message).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      version: '1.0',
      timestamp: '2026-01-01T00:00:05.123Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: first.dynamodb.SequenceNumber,
        endSequenceNumber: last.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: '2026-01-01T00:00:01Z',
        approximateArrivalOfLastRecord: '2026-01-01T00:00:02Z',
        batchSize: 2,
        streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
      },
    });
  });
});
