import {
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, dynamoDbClient, tableName } from '#shared/clients/dynamodb';
import { MAX_RULES, MAX_VERSIONS, MAX_WEIGHT, type Route } from '#shared/domain/route.schema';
import {
  PayloadTooLargeError,
  PreconditionFailedError,
  ServiceUnavailableError,
} from '#shared/errors/http-errors';
import { getRevision, getRoute, listRevisions, parseRevisionItem, readRoute } from '#shared/store/route.store';
import { MAX_WRITE_ATTEMPTS, writeRoute, type WriteRouteOptions, type ApplyOutcome } from '#shared/store/write-route';
import { checkTransactionLimits, itemSize } from '#shared/store/dynamodb-errors';
import { injectFault, withFault } from '#test/support/fault-injection';
import { addVersion, deleteIt, putVersions, routeKey, routeWith, uniqueTenant, version } from './helpers.ts';

type WriteOptions = WriteRouteOptions<ApplyOutcome>;

function write(options: Pick<WriteOptions, 'key' | 'apply'> & Partial<WriteOptions>) {
  return writeRoute({ kind: 'route.put', actor: 'tester', requestId: 'req-1', ...options });
}

async function allRevisionNumbers(key: ReturnType<typeof routeKey>): Promise<number[]> {
  const page = await listRevisions(key, { limit: 100 });
  return page.items.map((revision) => revision.revision).reverse();
}

async function rawItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: sk }, ConsistentRead: true }));
  return Item;
}

describe('writeRoute', () => {
  it('keeps one contiguous revision count across create, replace, delete and re-create', async () => {
    const key = routeKey(uniqueTenant());

    const created = await write({ key, apply: putVersions(key, { v1: version('v1') }) });
    const replaced = await write({ key, apply: putVersions(key, { v2: version('v2') }) });
    const deleted = await write({ key, apply: deleteIt, kind: 'route.delete' });
    const afterDelete = await readRoute(key, { consistent: true });
    const recreated = await write({ key, apply: putVersions(key, { v3: version('v3') }) });

    expect([created.revision, replaced.revision, deleted.revision, recreated.revision]).toEqual([1, 2, 3, 4]);
    expect(created.route).toMatchObject({ ...key, revision: 1, updatedBy: 'tester', versions: { v1: version('v1') } });
    expect(replaced.route?.createdAt).toBe(created.route?.createdAt);
    expect(deleted.route).toBeUndefined();
    expect(afterDelete).toEqual({ route: undefined, lastRevision: 3 });
    expect(recreated.route).toMatchObject({ revision: 4, versions: { v3: version('v3') } });
    expect(await getRoute(key, { consistent: true })).toEqual(recreated.route);
    expect(await allRevisionNumbers(key)).toEqual([1, 2, 3, 4]);

    const deletion = await getRevision(key, 3);
    expect(deletion).toMatchObject({ ...key, revision: 3, kind: 'route.delete', actor: 'tester', requestId: 'req-1', route: null });
    const stored = parseRevisionItem((await rawItem(`T#${key.tenant}#R#checkout#prod`, 'REV#0000000003')) ?? {});
    expect(stored.previous).toEqual(replaced.route);
    const first = parseRevisionItem((await rawItem(`T#${key.tenant}#R#checkout#prod`, 'REV#0000000001')) ?? {});
    expect(first.previous).toBeNull();
    expect(first.revision.route).toEqual(created.route);
  });

  it('commits nothing for a write that changes nothing', async () => {
    const key = routeKey(uniqueTenant());
    await write({ key, apply: putVersions(key, { v1: version('v1') }) });

    const again = await write({ key, apply: putVersions(key, { v1: version('v1') }) });

    expect(again.committed).toBeUndefined();
    expect(again.revision).toBe(1);
    expect(await allRevisionNumbers(key)).toEqual([1]);
  });

  it('returns 412 when If-Match is stale or the route is absent, and for If-None-Match on an existing route', async () => {
    const key = routeKey(uniqueTenant());
    await expect(write({ key, ifMatch: 1, apply: putVersions(key, { v1: version('v1') }) })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    await write({ key, createOnly: true, apply: putVersions(key, { v1: version('v1') }) });
    await write({ key, ifMatch: 1, apply: putVersions(key, { v2: version('v2') }) });

    await expect(write({ key, ifMatch: 1, apply: putVersions(key, { v3: version('v3') }) })).rejects.toMatchObject({
      status: 412,
    });
    await expect(write({ key, createOnly: true, apply: putVersions(key, { v3: version('v3') }) })).rejects.toMatchObject({
      status: 412,
    });
    expect((await getRoute(key, { consistent: true }))?.versions).toEqual({ v2: version('v2') });
    expect(await allRevisionNumbers(key)).toEqual([1, 2]);
  });

  it('lets exactly one of 16 concurrent writers with the same If-Match win; the rest get 412', async () => {
    const key = routeKey(uniqueTenant());
    await write({ key, apply: putVersions(key, { v0: version('v0') }) });

    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => write({ key, ifMatch: 1, apply: addVersion(key, `w${i}`) })),
    );

    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result) => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(15);
    for (const result of lost) expect(result.reason).toBeInstanceOf(PreconditionFailedError);
    expect(await allRevisionNumbers(key)).toEqual([1, 2]);
    expect(Object.keys((await getRoute(key, { consistent: true }))?.versions ?? {})).toHaveLength(2);
  });

  it('loses no change when 12 writers without a precondition race', async () => {
    const key = routeKey(uniqueTenant());

    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => write({ key, apply: addVersion(key, `w${i}`), kind: 'version.put' })),
    );

    expect(results.map((result) => result.revision).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    const route = await getRoute(key, { consistent: true });
    expect(Object.keys(route?.versions ?? {}).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `w${i}`).sort());
    expect(route?.revision).toBe(12);
    expect(await allRevisionNumbers(key)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it(`gives up after ${MAX_WRITE_ATTEMPTS} attempts with 503 and Retry-After when every commit conflicts, writing nothing`, async () => {
    const key = routeKey(uniqueTenant());
    await write({ key, apply: putVersions(key, { v1: version('v1') }) });

    const { result: error, fault } = await withFault(
      dynamoDbClient,
      {
        command: 'TransactWriteItemsCommand',
        times: Number.POSITIVE_INFINITY,
        error: () =>
          new TransactionCanceledException({
            message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
            CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
            $metadata: { httpStatusCode: 400 },
          }),
      },
      () => write({ key, apply: addVersion(key, 'v2') }).catch((e: unknown) => e),
    );

    expect(fault.attempts).toBe(MAX_WRITE_ATTEMPTS);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(await readRoute(key, { consistent: true })).toMatchObject({ lastRevision: 1, route: { versions: { v1: version('v1') } } });
    expect(await allRevisionNumbers(key)).toEqual([1]);
  });

  it('writes neither item when the revision item cannot be written', async () => {
    const key = routeKey(uniqueTenant());
    const pk = `T#${key.tenant}#R#${key.service}#${key.env}`;
    await write({ key, apply: putVersions(key, { v1: version('v1') }) });
    // A stray revision 2 (no route change claims it) makes the revision put fail its condition.
    await documentClient.send(new PutCommand({ TableName: tableName, Item: { PK: pk, SK: 'REV#0000000002', stray: true } }));

    const error: unknown = await write({ key, apply: putVersions(key, { v2: version('v2') }) }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TransactionCanceledException' });
    const route = await readRoute(key, { consistent: true });
    expect(route.lastRevision).toBe(1);
    expect(route.route?.versions).toEqual({ v1: version('v1') });
    expect(await rawItem(pk, 'REV#0000000002')).toEqual({ PK: pk, SK: 'REV#0000000002', stray: true });
  });

  it('writes nothing and rethrows when TransactWriteItems fails with a non-retryable error', async () => {
    const key = routeKey(uniqueTenant());
    await write({ key, apply: putVersions(key, { v1: version('v1') }) });
    const fault = injectFault(dynamoDbClient, {
      command: 'TransactWriteItemsCommand',
      times: 1,
      error: () => new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: { httpStatusCode: 400 } }),
    });
    try {
      await expect(write({ key, apply: putVersions(key, { v2: version('v2') }) })).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
      expect(fault.attempts).toBe(1);
    } finally {
      fault.remove();
    }
    expect(await readRoute(key, { consistent: true })).toMatchObject({ lastRevision: 1, route: { versions: { v1: version('v1') } } });
    expect(await allRevisionNumbers(key)).toEqual([1]);
  });

  it('absorbs throttling within the SDK retries', async () => {
    const key = routeKey(uniqueTenant());
    const fault = injectFault(dynamoDbClient, {
      command: 'TransactWriteItemsCommand',
      times: 2,
      error: () => new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: { httpStatusCode: 400 } }),
    });
    try {
      const result = await write({ key, apply: putVersions(key, { v1: version('v1') }) });
      expect(result.revision).toBe(1);
      expect(fault.attempts).toBe(3);
    } finally {
      fault.remove();
    }
  });

  it('returns 503 with Retry-After when throttling outlasts the SDK retries', async () => {
    const key = routeKey(uniqueTenant());
    const fault = injectFault(dynamoDbClient, {
      command: 'TransactWriteItemsCommand',
      times: 100,
      error: () => new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: { httpStatusCode: 400 } }),
    });
    let error: unknown;
    try {
      error = await write({ key, apply: putVersions(key, { v1: version('v1') }) }).catch((e: unknown) => e);
      expect(fault.attempts).toBe(3);
    } finally {
      fault.remove();
    }
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(await readRoute(key, { consistent: true })).toEqual({ route: undefined, lastRevision: 0 });
  });

  it('returns 503 when reads keep failing on the server side, and rethrows unknown errors', async () => {
    const key = routeKey(uniqueTenant());
    const serverFault = injectFault(dynamoDbClient, {
      command: 'GetItemCommand',
      times: 100,
      error: () =>
        new DynamoDBServiceException({ name: 'InternalServerError', $fault: 'server', message: 'boom', $metadata: { httpStatusCode: 500 } }),
    });
    try {
      await expect(readRoute(key)).rejects.toMatchObject({ status: 503 });
    } finally {
      serverFault.remove();
    }
    const unknownFault = injectFault(dynamoDbClient, {
      command: 'GetItemCommand',
      times: 1,
      error: () => new DynamoDBServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'no', $metadata: { httpStatusCode: 400 } }),
    });
    try {
      await expect(readRoute(key)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      unknownFault.remove();
    }
  });

  it('answers 503 with Retry-After when DynamoDB cancels the transaction for throttling', async () => {
    const key = routeKey(uniqueTenant());
    const fault = injectFault(dynamoDbClient, {
      command: 'TransactWriteItemsCommand',
      times: 1,
      error: () =>
        new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]',
          CancellationReasons: [{ Code: 'ThrottlingError' }, { Code: 'None' }],
          $metadata: { httpStatusCode: 400 },
        }),
    });
    try {
      await expect(write({ key, apply: putVersions(key, { v1: version('v1') }) })).rejects.toMatchObject({
        status: 503,
        headers: { 'Retry-After': '1' },
      });
    } finally {
      fault.remove();
    }
    expect(await readRoute(key, { consistent: true })).toEqual({ route: undefined, lastRevision: 0 });
  });

  it('commits the largest route the schema allows, its previous version included', async () => {
    const key = routeKey(uniqueTenant());
    const largest = (tag: string): Route => ({
      ...routeWith(
        key,
        Object.fromEntries(
          Array.from({ length: MAX_VERSIONS }, (_, i) => [
            `${tag}${i}`.padEnd(63, 'x'),
            { url: `https://${tag}.example.com/${'p'.repeat(2_000)}`, weight: MAX_WEIGHT, state: 'active' as const },
          ]),
        ),
      ),
      rules: Array.from({ length: MAX_RULES }, (_, i) => ({
        header: `x-${'h'.repeat(120)}`,
        equals: `${i}`.padEnd(1_024, 'e'),
        version: `${tag}0`.padEnd(63, 'x'),
      })),
    });
    await write({ key, apply: () => ({ next: largest('a'), changed: true }) });
    const second = await write({ key, apply: () => ({ next: largest('b'), changed: true }) });
    expect(second.revision).toBe(2);
  });

  it('refuses with 413, before sending, an item over 400 KB', () => {
    const item = { PK: 'x', SK: 'y', blob: 'z'.repeat(400 * 1024) };
    expect(() => checkTransactionLimits([{ PK: 'a', SK: 'b' }, item])).toThrow(PayloadTooLargeError);
    expect(() => checkTransactionLimits([{ PK: 'x', SK: 'y', blob: 'z'.repeat(399 * 1024) }])).not.toThrow();
    expect(() => checkTransactionLimits(Array.from({ length: 101 }, () => ({ PK: 'a' })))).toThrow(/100 items/);
    expect(() =>
      checkTransactionLimits(Array.from({ length: 11 }, () => ({ blob: 'z'.repeat(399 * 1024) }))),
    ).toThrow(/bytes/);
    expect(itemSize({ name: 'abc', count: 12345, flag: true, list: ['a', 1], map: { k: null } })).toBe(
      4 + 3 + (5 + 4) + (4 + 1) + (4 + 3 + 1 + 1 + 1 + 2) + (3 + 3 + 1 + 1 + 1),
    );
  });
});
