import type { DynamoDBRecord } from 'aws-lambda';
import { firstFailure, lambdaAttribute, lambdaRecord } from '#local/stream-poller';

const record = (sequenceNumber: string): DynamoDBRecord => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: sequenceNumber } });
const batch = ['100', '101', '102', '103'].map(record);

describe('firstFailure (what the event source mapping does with a response)', () => {
  it('takes a response without failures, or none at all, as success', () => {
    expect(firstFailure(batch, { batchItemFailures: [] })).toBeUndefined();
    expect(firstFailure(batch, undefined)).toBeUndefined();
  });

  it('restarts at the lowest failed sequence number, whatever order the failures are listed in', () => {
    expect(firstFailure(batch, { batchItemFailures: [{ itemIdentifier: '103' }, { itemIdentifier: '101' }] })).toBe(1);
  });

  it('compares sequence numbers as numbers, not text', () => {
    const long = [record('99'), record('100')];
    expect(firstFailure(long, { batchItemFailures: [{ itemIdentifier: '100' }, { itemIdentifier: '99' }] })).toBe(0);
  });

  it('fails the whole batch for an identifier that names no record, or an empty one', () => {
    expect(firstFailure(batch, { batchItemFailures: [{ itemIdentifier: '103' }, { itemIdentifier: '999' }] })).toBe(0);
    expect(firstFailure(batch, { batchItemFailures: [{ itemIdentifier: '' }] })).toBe(0);
  });
});

describe('lambdaRecord', () => {
  it('turns a GetRecords record into the record Lambda delivers: source ARN, epoch seconds, base64 binary', () => {
    const converted = lambdaRecord(
      {
        eventID: 'e1',
        eventName: 'INSERT',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-01-01T00:00:01.900Z'),
          Keys: { PK: { S: 'T#a#R#s#e' }, SK: { S: 'REV#0000000001' } },
          NewImage: { blob: { B: new Uint8Array([1, 2, 3]) }, nested: { M: { list: { L: [{ BS: [new Uint8Array([255])] }, { N: '1' }] } } } },
          SequenceNumber: '1100000000017454423009',
          SizeBytes: 42,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
    );
    expect(converted).toEqual({
      eventID: 'e1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
      dynamodb: {
        ApproximateCreationDateTime: 1767225601,
        Keys: { PK: { S: 'T#a#R#s#e' }, SK: { S: 'REV#0000000001' } },
        NewImage: { blob: { B: 'AQID' }, nested: { M: { list: { L: [{ BS: ['/w=='] }, { N: '1' }] } } } },
        SequenceNumber: '1100000000017454423009',
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  });

  it('leaves other attribute types as they are', () => {
    expect(lambdaAttribute({ S: 'x' })).toEqual({ S: 'x' });
    expect(lambdaAttribute({ NULL: true })).toEqual({ NULL: true });
  });
});
