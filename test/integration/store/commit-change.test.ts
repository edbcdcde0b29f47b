import {
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, dynamoDbClient, tableName, transactionClient } from '#shared/clients/dynamodb';
import { putRoute, putVersion, rollback } from '#shared/domain/route-changes';
import { MAX_RULES, MAX_VERSIONS, type PutRouteBody } from '#shared/domain/route.schema';
import { MAX_WEIGHT } from '#shared/domain/route-limits';
import { MAX_ATTEMPTS } from '#shared/clients/aws-client-config';
import {
  OutcomeUnknownError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ServiceUnavailableError,
  ValidationError,
} from '#shared/errors/http-errors';
import { commitChange, MAX_WRITE_ATTEMPTS } from '#shared/store/commit-change';
import { checkTransactionLimits, itemSize } from '#shared/store/dynamodb-errors';
import { parseRevisionItem } from '#shared/store/revision-item';
import {
  getRevision,
  getRoute,
  listChanges,
  listRevisions,
  readRoute,
  readSequence,
  type RouteKey,
} from '#shared/store/route.store';
import { injectFault, withFault, type InjectedFault } from '#test/support/fault-injection';
import { addVersion, commit, deleteIt, putVersions, routeKey, uniqueTenant, version, writeContext } from './helpers.ts';

async function allRevisionNumbers(key: RouteKey): Promise<number[]> {
  const page = await listRevisions(key, { limit: 100 });
  return page.items.map((revision) => revision.revision).reverse();
}

async function rawItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: sk }, ConsistentRead: true }));
  return Item;
}

const pkOf = (key: RouteKey): string => `T#${key.tenant}#R#${key.service}#${key.env}`;

/** A transaction cancelled with `code` on the route item (the write path sends four items). */
function cancelled(code: string): () => TransactionCanceledException {
  return () =>
    new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${code}, None, None, None]`,
      CancellationReasons: [{ Code: code }, { Code: 'None' }, { Code: 'None' }, { Code: 'None' }],
      $metadata: { httpStatusCode: 400 },
    });
}

const throughputExceeded = () =>
  new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: { httpStatusCode: 400 } });

describe('commitChange', () => {
  it('keeps one contiguous revision count across create, replace, delete and re-create, stamping each route', async () => {
    const key = routeKey(uniqueTenant());

    const created = await commit(key, putVersions({ v1: version('v1') }));
    const replaced = await commit(key, putVersions({ v2: version('v2') }), { actor: 'replacer' });
    const deleted = await commit(key, deleteIt());
    const afterDelete = await readRoute(key, { consistent: true });
    const recreated = await commit(key, putVersions({ v3: version('v3') }));

    expect([created, replaced, deleted, recreated].map((result) => result.committed)).toEqual([true, true, true, true]);
    expect([created, replaced, deleted, recreated].map((result) => result.created)).toEqual([true, false, false, true]);
    expect(created.route).toMatchObject({ ...key, revision: 1, updatedBy: 'tester', versions: { v1: version('v1') }, defaultVersion: 'v1' });
    expect(created.route?.createdAt).toBe(created.route?.updatedAt);
    expect(created.previous).toBeUndefined();
    expect(replaced.route).toMatchObject({ revision: 2, updatedBy: 'replacer', createdAt: created.route?.createdAt });
    expect(replaced.previous).toEqual(created.route);
    expect(deleted.route).toBeUndefined();
    expect(deleted.previous).toEqual(replaced.route);
    expect(afterDelete).toEqual({ route: undefined, lastRevision: 3 });
    // A route created again continues the count, and is new: its createdAt is its own.
    expect(recreated.route).toMatchObject({ revision: 4, versions: { v3: version('v3') } });
    expect(recreated.route?.createdAt).toBe(recreated.route?.updatedAt);
    expect(recreated.previous).toBeUndefined();
    expect(await getRoute(key, { consistent: true })).toEqual(recreated.route);
    expect(await allRevisionNumbers(key)).toEqual([1, 2, 3, 4]);

    const replacement = await getRevision(key, 2);
    expect(replacement?.occurredAt).toBe(replaced.route?.updatedAt);
    const deletion = await getRevision(key, 3);
    expect(deletion).toMatchObject({ ...key, revision: 3, kind: 'route.delete', actor: 'tester', route: null });
    const stored = parseRevisionItem((await rawItem(pkOf(key), 'REV#0000000003')) ?? {});
    expect(stored.previous).toEqual(replaced.route);
    const first = parseRevisionItem((await rawItem(pkOf(key), 'REV#0000000001')) ?? {});
    expect(first.previous).toBeNull();
    expect(first.revision.route).toEqual(created.route);
  });

  it('records the tenant sequence number, the server-issued request id and the caller correlation id', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v1: version('v1') }), { requestId: 'server-req-1', correlationId: 'caller-abc' });
    await commit(key, addVersion('v2'), { requestId: 'server-req-2', actor: 'someone' });

    const first = await getRevision(key, 1);
    const second = await getRevision(key, 2);
    expect(first).toMatchObject({ seq: 1, requestId: 'server-req-1', correlationId: 'caller-abc', kind: 'route.put', actor: 'tester' });
    expect(second).toMatchObject({ seq: 2, requestId: 'server-req-2', kind: 'version.put', actor: 'someone' });
    expect(second).not.toHaveProperty('correlationId');
  });

  it('commits nothing for a write that changes nothing', async () => {
    const key = routeKey(uniqueTenant());
    const first = await commit(key, putVersions({ v1: version('v1') }));

    const again = await commit(key, putVersions({ v1: version('v1') }));

    expect(again).toMatchObject({ committed: false, created: false });
    expect(again.route).toEqual(first.route);
    expect(again.previous).toEqual(first.route);
    expect(await allRevisionNumbers(key)).toEqual([1]);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(1);
  });

  it('answers 404 and commits nothing for a change that cannot apply', async () => {
    const key = routeKey(uniqueTenant());
    await expect(commit(key, deleteIt())).rejects.toMatchObject({ status: 404 });
    expect(await readRoute(key, { consistent: true })).toEqual({ route: undefined, lastRevision: 0 });
    expect(await readSequence(key.tenant, { consistent: true })).toBe(0);
  });

  it('checks the invariants under the deployment policy, naming the body’s fields, and commits nothing', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v1: version('v1') }));

    const error: unknown = await commit(key, putVersion('v2', { url: 'https://10.0.0.1', weight: 1, state: 'active' })).catch(
      (e: unknown) => e,
    );
    const dangling: unknown = await commit(key, putRoute({ versions: { v1: version('v1') }, defaultVersion: 'v9', rules: [] })).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, errors: [{ path: 'url' }] });
    expect(dangling).toMatchObject({ status: 400, errors: [{ path: 'defaultVersion' }] });
    expect(await allRevisionNumbers(key)).toEqual([1]);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(1);
  });

  it('rolls back to a past revision as a new revision, and creates a deleted route again', async () => {
    const key = routeKey(uniqueTenant());
    const first = await commit(key, putVersions({ v1: version('v1') }));
    await commit(key, putVersions({ v2: version('v2') }));
    await commit(key, deleteIt());

    const past = await getRevision(key, 1);
    if (past === undefined) throw new Error('expected revision 1');
    const restored = await commit(key, rollback({ revision: past.revision, route: past.route }));

    expect(restored).toMatchObject({ committed: true, created: true, route: { revision: 4, versions: { v1: version('v1') }, defaultVersion: 'v1' } });
    // Created again: its createdAt is the rollback's, not the first route's.
    expect(restored.route?.createdAt).toBe(restored.route?.updatedAt);
    expect(restored.route?.updatedBy).toBe('tester');
    expect(await getRevision(key, 4)).toMatchObject({ kind: 'rollback', seq: 4, route: { versions: first.route?.versions } });
    await expect(commit(key, rollback({ revision: 3, route: null }))).rejects.toMatchObject({ status: 409 });
  });

  it('returns 412 when If-Match is stale or the route is absent, for If-Match: * on an absent route, and for If-None-Match on an existing one', async () => {
    const key = routeKey(uniqueTenant());
    await expect(commit(key, putVersions({ v1: version('v1') }), { preconditions: { ifMatch: 1 } })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    await expect(commit(key, putVersions({ v1: version('v1') }), { preconditions: { mustExist: true } })).rejects.toMatchObject({
      status: 412,
    });
    await commit(key, putVersions({ v1: version('v1') }), { preconditions: { createOnly: true } });
    await commit(key, putVersions({ v2: version('v2') }), { preconditions: { ifMatch: 1 } });
    await commit(key, addVersion('v3'), { preconditions: { mustExist: true } });

    await expect(commit(key, putVersions({ v4: version('v4') }), { preconditions: { ifMatch: 1 } })).rejects.toMatchObject({
      status: 412,
    });
    await expect(commit(key, putVersions({ v4: version('v4') }), { preconditions: { createOnly: true } })).rejects.toMatchObject({
      status: 412,
    });
    expect((await getRoute(key, { consistent: true }))?.versions).toEqual({ v2: version('v2'), v3: version('v3') });
    expect(await allRevisionNumbers(key)).toEqual([1, 2, 3]);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(3);
  });

  it('lets exactly one of 16 concurrent writers with the same If-Match win; the rest get 412', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v0: version('v0') }));

    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => commit(key, addVersion(`w${i}`), { preconditions: { ifMatch: 1 } })),
    );

    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result) => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(15);
    for (const result of lost) expect(result.reason).toBeInstanceOf(PreconditionFailedError);
    expect(await allRevisionNumbers(key)).toEqual([1, 2]);
    expect(Object.keys((await getRoute(key, { consistent: true }))?.versions ?? {})).toHaveLength(2);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(2);
  });

  it('loses no change when 12 writers without a precondition race', async () => {
    const key = routeKey(uniqueTenant());

    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => commit(key, addVersion(`w${i}`))));

    expect(results.map((result) => result.route?.revision).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const route = await getRoute(key, { consistent: true });
    expect(Object.keys(route?.versions ?? {}).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `w${i}`).sort());
    expect(route?.revision).toBe(12);
    expect(await allRevisionNumbers(key)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it(`gives up after ${MAX_WRITE_ATTEMPTS} attempts with 503 and Retry-After when every commit conflicts, writing nothing`, async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v1: version('v1') }));

    const { result: error, fault } = await withFault(
      transactionClient,
      { command: 'TransactWriteItemsCommand', times: Number.POSITIVE_INFINITY, error: cancelled('TransactionConflict') },
      () => commit(key, addVersion('v2')).catch((e: unknown) => e),
    );

    expect(fault.attempts).toBe(MAX_WRITE_ATTEMPTS);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(await readRoute(key, { consistent: true })).toMatchObject({ lastRevision: 1, route: { versions: { v1: version('v1') } } });
    expect(await allRevisionNumbers(key)).toEqual([1]);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(1);
  });

  it('lands on the attempt after a run of conflicts, once', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v1: version('v1') }));

    const { result, fault } = await withFault(
      transactionClient,
      { command: 'TransactWriteItemsCommand', times: MAX_WRITE_ATTEMPTS - 1, error: cancelled('TransactionConflict') },
      () => commit(key, addVersion('v2')),
    );

    expect(fault.attempts).toBe(MAX_WRITE_ATTEMPTS);
    expect(result).toMatchObject({ committed: true, route: { revision: 2 } });
    expect(await allRevisionNumbers(key)).toEqual([1, 2]);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(2);
  });

  it('writes no item when the revision item cannot be written', async () => {
    const key = routeKey(uniqueTenant());
    const pk = pkOf(key);
    await commit(key, putVersions({ v1: version('v1') }));
    // A stray revision 2 (no route change claims it) makes the revision put fail its condition.
    await documentClient.send(new PutCommand({ TableName: tableName, Item: { PK: pk, SK: 'REV#0000000002', stray: true } }));

    const error: unknown = await commit(key, putVersions({ v2: version('v2') })).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TransactionCanceledException' });
    const route = await readRoute(key, { consistent: true });
    expect(route.lastRevision).toBe(1);
    expect(route.route?.versions).toEqual({ v1: version('v1') });
    expect(await rawItem(pk, 'REV#0000000002')).toEqual({ PK: pk, SK: 'REV#0000000002', stray: true });
    expect(await readSequence(key.tenant, { consistent: true })).toBe(1);
    expect((await rawItem(`T#${key.tenant}#TENANT`, 'R#checkout#prod'))?.revision).toBe(1);
  });

  it('writes nothing and rethrows when TransactWriteItems fails with a non-retryable error', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v1: version('v1') }));
    const fault = injectFault(transactionClient, {
      command: 'TransactWriteItemsCommand',
      times: 1,
      error: () => new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: { httpStatusCode: 400 } }),
    });
    try {
      await expect(commit(key, putVersions({ v2: version('v2') }))).rejects.toBeInstanceOf(ResourceNotFoundException);
      expect(fault.attempts).toBe(1);
    } finally {
      fault.remove();
    }
    expect(await readRoute(key, { consistent: true })).toMatchObject({ lastRevision: 1, route: { versions: { v1: version('v1') } } });
    expect(await allRevisionNumbers(key)).toEqual([1]);
  });

  it('absorbs brief throttling of the transaction by retrying it', async () => {
    const key = routeKey(uniqueTenant());
    const { result, fault } = await withFault(
      transactionClient,
      { command: 'TransactWriteItemsCommand', times: 2, error: throughputExceeded },
      () => commit(key, putVersions({ v1: version('v1') })),
    );
    expect(result).toMatchObject({ committed: true, route: { revision: 1 } });
    expect(fault.attempts).toBe(3);
  });

  it(`returns 503 with Retry-After after ${MAX_ATTEMPTS} throttled attempts, writing nothing`, async () => {
    const key = routeKey(uniqueTenant());
    const { result: error, fault } = await withFault(
      transactionClient,
      { command: 'TransactWriteItemsCommand', times: Number.POSITIVE_INFINITY, error: throughputExceeded },
      () => commit(key, putVersions({ v1: version('v1') })).catch((e: unknown) => e),
    );
    expect(fault.attempts).toBe(MAX_ATTEMPTS);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(await readRoute(key, { consistent: true })).toEqual({ route: undefined, lastRevision: 0 });
    expect(await readSequence(key.tenant, { consistent: true })).toBe(0);
  });

  it('retries a transaction DynamoDB cancelled for throttling, and answers 503 with Retry-After when it keeps doing so', async () => {
    const key = routeKey(uniqueTenant());
    const once = await withFault(
      transactionClient,
      { command: 'TransactWriteItemsCommand', times: 1, error: cancelled('ThrottlingError') },
      () => commit(key, putVersions({ v1: version('v1') })),
    );
    expect(once.result).toMatchObject({ committed: true, route: { revision: 1 } });
    expect(once.fault.attempts).toBe(2);

    const always = await withFault(
      transactionClient,
      { command: 'TransactWriteItemsCommand', times: Number.POSITIVE_INFINITY, error: cancelled('ThrottlingError') },
      () => commit(key, putVersions({ v2: version('v2') })).catch((e: unknown) => e),
    );
    expect(always.fault.attempts).toBe(MAX_ATTEMPTS);
    expect(always.result).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(await readRoute(key, { consistent: true })).toMatchObject({ lastRevision: 1, route: { versions: { v1: version('v1') } } });
  });

  it('bounds store failures by the retry budget even between lost races', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putVersions({ v1: version('v1') }));
    let calls = 0;
    // Conflicts and throttling alternate: the conflicts do not count against the budget.
    const { result: error, fault } = await withFault(
      transactionClient,
      {
        command: 'TransactWriteItemsCommand',
        times: Number.POSITIVE_INFINITY,
        error: () => {
          calls += 1;
          return calls % 2 === 1 ? cancelled('TransactionConflict')() : throughputExceeded();
        },
      },
      () => commit(key, addVersion('v2')).catch((e: unknown) => e),
    );
    expect(fault.attempts).toBe(2 * MAX_ATTEMPTS);
    expect(error).toMatchObject({ status: 503 });
    expect(await allRevisionNumbers(key)).toEqual([1]);
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
      await expect(commit(key, putVersions({ v1: version('v1') }))).rejects.toMatchObject({ status: 503 });
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
    expect(await readRoute(key, { consistent: true })).toEqual({ route: undefined, lastRevision: 0 });
  });

  it('answers 503 without waiting when the deadline leaves no time for an attempt, writing nothing', async () => {
    const key = routeKey(uniqueTenant());
    await expect(commit(key, putVersions({ v1: version('v1') }), { deadline: Date.now() })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    expect(await readRoute(key, { consistent: true })).toEqual({ route: undefined, lastRevision: 0 });
  });

  describe('a transaction whose answer is lost', () => {
    type Middleware = (
      next: (args: unknown) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: unknown) => Promise<unknown>;
    const stack = transactionClient.middlewareStack as unknown as {
      add: (middleware: Middleware, options: { step: 'deserialize'; priority: 'low'; name: string }) => void;
      remove: (name: string) => boolean;
    };
    let installed = 0;

    /**
     * Wraps the next `times` transactions next to the wire: `before` runs instead of or
     * before sending (return true to send), and `failure` is thrown in place of the answer.
     */
    async function withLostAnswers<T>(
      times: number,
      send: boolean | (() => Promise<void>),
      failure: () => Error,
      act: () => Promise<T>,
    ): Promise<{ result: T; lost: number }> {
      let lost = 0;
      let inside = false;
      installed += 1;
      const name = `loseAnswer${installed}`;
      stack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'TransactWriteItemsCommand' || lost >= times || inside) return next(args);
          lost += 1;
          if (send === true) await next(args);
          if (typeof send === 'function') {
            inside = true;
            try {
              await send();
            } finally {
              inside = false;
            }
          }
          throw failure();
        },
        { step: 'deserialize', priority: 'low', name },
      );
      try {
        return { result: await act(), lost };
      } finally {
        stack.remove(name);
      }
    }

    const serverError = () =>
      new DynamoDBServiceException({ name: 'InternalServerError', $fault: 'server', message: 'answer lost', $metadata: { httpStatusCode: 500 } });
    const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

    it.each([
      ['a 5xx answer', serverError],
      ['no answer', connectionReset],
    ])('learns after %s from the revision it wrote that it committed, and commits nothing twice', async (_, failure) => {
      const key = routeKey(uniqueTenant());
      await commit(key, putVersions({ v1: version('v1') }));
      const context = writeContext(key);

      const { result, lost } = await withLostAnswers(1, true, failure, () => commitChange(context, addVersion('v2')));

      expect(lost).toBe(1);
      expect(result).toMatchObject({ committed: true, created: false, route: { revision: 2 } });
      expect(await allRevisionNumbers(key)).toEqual([1, 2]);
      expect(await getRevision(key, 2)).toMatchObject({ requestId: context.requestId, seq: 2 });
      expect(await readSequence(key.tenant, { consistent: true })).toBe(2);
    });

    it('retries on a fresh read when the revision it would have written is another writer’s', async () => {
      const key = routeKey(uniqueTenant());
      await commit(key, putVersions({ v1: version('v1') }));
      const other = writeContext(key);
      const context = writeContext(key);

      const { result } = await withLostAnswers(
        1,
        async () => {
          await commitChange(other, addVersion('other'));
        },
        connectionReset,
        () => commitChange(context, addVersion('v2')),
      );

      expect(result).toMatchObject({ committed: true, route: { revision: 3 } });
      expect(Object.keys(result.route?.versions ?? {}).sort()).toEqual(['other', 'v1', 'v2']);
      expect(await getRevision(key, 2)).toMatchObject({ requestId: other.requestId, seq: 2 });
      expect(await getRevision(key, 3)).toMatchObject({ requestId: context.requestId, seq: 3 });
    });

    it('answers 503 (not outcome-unknown) when 5xx answers come from attempts that did not commit', async () => {
      const key = routeKey(uniqueTenant());
      await commit(key, putVersions({ v1: version('v1') }));

      const { result: error, fault } = await withFault(
        transactionClient,
        { command: 'TransactWriteItemsCommand', times: Number.POSITIVE_INFINITY, error: serverError },
        () => commit(key, addVersion('v2')).catch((e: unknown) => e),
      );

      expect(fault.attempts).toBe(MAX_ATTEMPTS);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).not.toBeInstanceOf(OutcomeUnknownError);
      expect(await allRevisionNumbers(key)).toEqual([1]);
    });

    /**
     * A lost answer whose `failure` also starts failing the next `times` GetItem attempts:
     * the reads fail from the moment the transaction has been sent (and has committed).
     */
    function readsFailingAfterTheCommit(times: number) {
      let reads: InjectedFault | undefined;
      const lostThenReadsFail = (): Error => {
        reads ??= injectFault(dynamoDbClient, { command: 'GetItemCommand', times, error: connectionReset });
        return connectionReset();
      };
      return { lostThenReadsFail, reads: () => reads };
    }

    it('answers outcome-unknown, never "nothing committed", when the reads that would settle a lost answer fail too', async () => {
      const key = routeKey(uniqueTenant());
      await commit(key, putVersions({ v1: version('v1') }));
      const { lostThenReadsFail, reads } = readsFailingAfterTheCommit(Number.POSITIVE_INFINITY);
      try {
        const { result: error } = await withLostAnswers(1, true, lostThenReadsFail, () =>
          commitChange(writeContext(key, { deadline: Date.now() + 5_000 }), addVersion('v2')).catch((e: unknown) => e),
        );
        expect(error).toBeInstanceOf(OutcomeUnknownError);
        expect(reads()?.failed).toBeGreaterThan(0);
      } finally {
        reads()?.remove();
      }
      expect(await allRevisionNumbers(key)).toEqual([1, 2]);
    });

    it('learns it committed when the reads after a lost answer fail a while and then recover', async () => {
      const key = routeKey(uniqueTenant());
      await commit(key, putVersions({ v1: version('v1') }));
      const { lostThenReadsFail, reads } = readsFailingAfterTheCommit(MAX_ATTEMPTS + 1);
      try {
        const { result } = await withLostAnswers(1, true, lostThenReadsFail, () => commitChange(writeContext(key), addVersion('v2')));
        expect(result).toMatchObject({ committed: true, route: { revision: 2 } });
        expect(reads()?.failed).toBe(MAX_ATTEMPTS + 1);
      } finally {
        reads()?.remove();
      }
      expect(await allRevisionNumbers(key)).toEqual([1, 2]);
    });

    it('answers 503 outcome-unknown when no attempt got an answer and none is known to have committed', async () => {
      const key = routeKey(uniqueTenant());
      await commit(key, putVersions({ v1: version('v1') }));

      const { result: error, lost } = await withLostAnswers(Number.POSITIVE_INFINITY, false, connectionReset, () =>
        commit(key, addVersion('v2')).catch((e: unknown) => e),
      );

      expect(lost).toBe(MAX_ATTEMPTS);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error).toMatchObject({ status: 503, slug: 'outcome-unknown', headers: { 'Retry-After': '1' } });
      expect(await allRevisionNumbers(key)).toEqual([1]);
    });
  });

  it('commits the largest route the schema allows', async () => {
    const key = routeKey(uniqueTenant());
    const first = await commit(key, putRoute(largest('a')));
    expect(first).toMatchObject({ committed: true, route: { revision: 1 } });
    expect(await getRoute(key, { consistent: true })).toEqual(first.route);
  });

  it('refuses with 413, committing nothing, a change whose event (route before and after) is too large', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putRoute(largest('a')));

    const error: unknown = await commit(key, putRoute(largest('b'))).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ status: 413 });
    expect(await allRevisionNumbers(key)).toEqual([1]);
    expect(await readSequence(key.tenant, { consistent: true })).toBe(1);
  });

  it('commits a large route together with its previous version when the event fits', async () => {
    const key = routeKey(uniqueTenant());
    await commit(key, putRoute(large('a', 1_000)));
    const second = await commit(key, putRoute(large('b', 1_000)));
    expect(second).toMatchObject({ committed: true, route: { revision: 2 } });
    const stored = parseRevisionItem((await rawItem(pkOf(key), 'REV#0000000002')) ?? {});
    expect(stored.previous?.revision).toBe(1);
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

describe('the tenant sequence', () => {
  it('advances by exactly 1 per commit across the routes of one tenant, and only for commits', async () => {
    const tenant = uniqueTenant();
    const a = routeKey(tenant, 'alpha', 'prod');
    const b = routeKey(tenant, 'beta', 'prod');
    const other = routeKey(uniqueTenant(), 'alpha', 'prod');
    expect(await readSequence(tenant, { consistent: true })).toBe(0);

    const seen: number[] = [];
    const steps: [RouteKey, () => ReturnType<typeof putVersions>][] = [
      [a, () => putVersions({ v1: version('v1') })],
      [b, () => putVersions({ v1: version('v1') })],
      [a, () => addVersion('v2')],
      [other, () => putVersions({ v1: version('v1') })],
      [b, () => deleteIt()],
      [b, () => putVersions({ v1: version('v1') })],
    ];
    for (const [key, change] of steps) {
      await commit(key, change());
      seen.push(await readSequence(tenant, { consistent: true }));
    }
    // A no-op, a refused precondition and a change that cannot apply commit nothing.
    await commit(a, addVersion('v2'));
    await commit(a, addVersion('v3'), { preconditions: { ifMatch: 1 } }).catch(() => undefined);
    await commit(routeKey(tenant, 'gamma', 'prod'), deleteIt()).catch(() => undefined);
    seen.push(await readSequence(tenant, { consistent: true }));

    expect(seen).toEqual([1, 2, 3, 3, 4, 5, 5]);
    expect(await readSequence(other.tenant, { consistent: true })).toBe(1);
    const revisions = [await getRevision(a, 1), await getRevision(b, 1), await getRevision(a, 2), await getRevision(b, 2), await getRevision(b, 3)];
    expect(revisions.map((revision) => revision?.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('has no gaps and no repeats under 8 concurrent writers on 8 routes of one tenant', async () => {
    const tenant = uniqueTenant();
    const keys = Array.from({ length: 8 }, (_, i) => routeKey(tenant, `svc${i}`, 'prod'));

    const created = await Promise.all(keys.map((key) => commit(key, putVersions({ v1: version('v1') }))));
    const updated = await Promise.all(keys.map((key) => commit(key, addVersion('v2'))));

    expect(created.every((result) => result.committed && result.route?.revision === 1)).toBe(true);
    expect(updated.every((result) => result.committed && result.route?.revision === 2)).toBe(true);
    const seqs: number[] = [];
    for (const key of keys) {
      for (const revision of (await listRevisions(key, { limit: 10 })).items) seqs.push(revision.seq);
    }
    expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(await readSequence(tenant, { consistent: true })).toBe(16);
    const feed = await listChanges(tenant, { after: 0, limit: 100 });
    expect(feed.items.map((entry) => entry.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(feed.latest).toBe(16);
  });
  it('does not refuse an If-Match writer because another route of the tenant moved the sequence', async () => {
    const tenant = uniqueTenant();
    const keys = Array.from({ length: 8 }, (_, i) => routeKey(tenant, `svc${i}`, 'prod'));
    for (const key of keys) await commit(key, putVersions({ v1: version('v1') }));

    const results = await Promise.allSettled(
      keys.map((key) => commit(key, addVersion('v2'), { preconditions: { ifMatch: 1 } })),
    );

    expect(results.map((result) => result.status)).toEqual(keys.map(() => 'fulfilled'));
    for (const key of keys) expect(await allRevisionNumbers(key)).toEqual([1, 2]);
    expect(await readSequence(tenant, { consistent: true })).toBe(16);
  });
});

describe('listChanges', () => {
  const tenant = uniqueTenant();
  const a = routeKey(tenant, 'alpha', 'prod');
  const b = routeKey(tenant, 'beta', 'dev');
  /** seq → [service, revision, kind]. */
  const expected: [string, number, 'created' | 'updated' | 'deleted'][] = [
    ['alpha', 1, 'created'],
    ['beta', 1, 'created'],
    ['alpha', 2, 'updated'],
    ['alpha', 3, 'deleted'],
    ['beta', 2, 'updated'],
    ['alpha', 4, 'created'],
    ['alpha', 5, 'updated'],
  ];

  beforeAll(async () => {
    await commit(a, putVersions({ v1: version('v1') }));
    await commit(b, putVersions({ v1: version('v1') }));
    await commit(a, addVersion('v2'));
    await commit(a, deleteIt());
    await commit(b, addVersion('v2'));
    await commit(a, putVersions({ v3: version('v3') }));
    const past = await getRevision(a, 2);
    await commit(a, rollback({ revision: 2, route: past?.route ?? null }));
  });

  it('returns every change in sequence order with its kind, a route created again after a delete as created', async () => {
    const page = await listChanges(tenant, { after: 0, limit: 100 });
    expect(page.latest).toBe(expected.length);
    expect(page.items.map((entry) => [entry.seq, entry.service, entry.revision, entry.kind])).toEqual(
      expected.map(([service, revision, kind], i) => [i + 1, service, revision, kind]),
    );
    expect(page.items[3]).toMatchObject({ env: 'prod', route: null });
    expect(page.items[5]?.route).toMatchObject({ ...a, revision: 4, versions: { v3: version('v3') } });
    expect(page.items[6]?.route?.versions).toEqual({ v1: version('v1'), v2: version('v2') });
    for (const entry of page.items) {
      expect((await getRevision(routeKey(tenant, entry.service, entry.env), entry.revision))?.occurredAt).toBe(entry.occurredAt);
    }
  });

  it.each([
    [0, 1],
    [0, 3],
    [2, 2],
    [5, 100],
    [6, 1],
  ])('after %i with limit %i returns the next changes in order, and the latest', async (after, limit) => {
    const page = await listChanges(tenant, { after, limit });
    const seqs = Array.from({ length: Math.min(limit, expected.length - after) }, (_, i) => after + i + 1);
    expect(page.items.map((entry) => entry.seq)).toEqual(seqs);
    expect(page.latest).toBe(expected.length);
  });

  it('pages through the whole feed by asking again after its last item', async () => {
    const seqs: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 100; pages += 1) {
      const page = await listChanges(tenant, { after, limit: 2 });
      if (page.items.length === 0) break;
      seqs.push(...page.items.map((entry) => entry.seq));
      after = page.items.at(-1)?.seq ?? after;
    }
    expect(seqs).toEqual(Array.from({ length: expected.length }, (_, i) => i + 1));
  });

  it('returns nothing after the latest, and nothing for a tenant without changes', async () => {
    expect(await listChanges(tenant, { after: expected.length, limit: 10 })).toEqual({ items: [], latest: expected.length });
    expect(await listChanges(uniqueTenant(), { after: 0, limit: 10 })).toEqual({ items: [], latest: 0 });
  });
});

/** A route body with MAX_VERSIONS versions of `urlLength`-long URLs and MAX_RULES long rules. */
function large(tag: string, urlLength: number): PutRouteBody {
  const name = (i: number) => `${tag}${i}`.padEnd(63, 'x');
  return {
    versions: Object.fromEntries(
      Array.from({ length: MAX_VERSIONS }, (_, i) => [
        name(i),
        { url: `https://${tag}.example.com/${'p'.repeat(urlLength)}`, weight: MAX_WEIGHT, state: 'active' as const },
      ]),
    ),
    defaultVersion: name(0),
    rules: Array.from({ length: MAX_RULES }, (_, i) => ({
      header: `x-${'h'.repeat(120)}`,
      equals: `${i}`.padEnd(1_024, 'e'),
      version: name(0),
    })),
  };
}

/** The largest route the schema allows (URLs of 2,048 characters). */
function largest(tag: string): PutRouteBody {
  return large(tag, 2_048 - `https://${tag}.example.com/`.length);
}
