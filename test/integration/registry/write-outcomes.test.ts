/**
 * What a caller is told when the store fails mid-write (API.md, "Failure means nothing
 * committed"), through the real PUT and PATCH handlers against the emulator. Faults go into
 * the write path's transaction client (its middleware stack, next to the wire), so the
 * emulator really commits, or never sees the request, as each case needs:
 * - the answer lost after the commit: the write learns it committed and answers 2xx;
 * - a 5xx answer after the commit: the same;
 * - refused before sending: retried, committed once;
 * - sent and never answered, every time: 503 `outcome-unknown`, and nothing was committed.
 * Every case counts ghost commits (a refusal whose change is in the history): none.
 */
import { transactionClient } from '#shared/clients/dynamodb';
import { internalServerError } from '#test/support/fault-injection';
import { expectProblem, registry, revisionNumbers, twoVersionBody, uniqueTenant, type Registry, type Response } from './registry-client.ts';

type Outcome = 'commit-then-lose-answer' | 'commit-then-fail' | 'refuse-before-sending' | 'never-answer';

const transactionCommands = new Set(['TransactWriteItemsCommand', 'TransactWriteCommand']);

/** A request timeout as the SDK raises it: sent, and no answer. */
function noAnswer(): Error {
  return Object.assign(new Error('a request has exceeded the configured 2000 ms requestTimeout.'), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });
}

/** A refused connection: nothing was sent. */
function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
}


let faultSequence = 0;

/**
 * Runs `act` while the next `times` transactions of the write path meet `outcome`; returns
 * what `act` returned and how many transactions were attempted.
 */
async function withTransactionFault<T>(outcome: Outcome, times: number, act: () => Promise<T>): Promise<{ result: T; attempts: number }> {
  faultSequence += 1;
  const name = `writeOutcomeFault${faultSequence}`;
  let attempts = 0;
  let faulted = 0;
  const stack = transactionClient.middlewareStack as unknown as {
    add: (
      middleware: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; priority: 'low'; name: string },
    ) => void;
    remove: (name: string) => boolean;
  };
  stack.add(
    (next, context) => async (args) => {
      if (!transactionCommands.has(context.commandName ?? '')) return next(args);
      attempts += 1;
      if (faulted >= times) return next(args);
      faulted += 1;
      switch (outcome) {
        case 'commit-then-lose-answer':
          await next(args);
          throw noAnswer();
        case 'commit-then-fail':
          await next(args);
          throw internalServerError();
        case 'refuse-before-sending':
          throw refused();
        case 'never-answer':
          throw noAnswer();
      }
    },
    { step: 'deserialize', priority: 'low', name },
  );
  try {
    return { result: await act(), attempts };
  } finally {
    stack.remove(name);
  }
}

async function createdRoute(): Promise<Registry> {
  const api = registry(uniqueTenant());
  expect((await api.putRoute(twoVersionBody())).status).toBe(201);
  return api;
}

describe('a write whose transaction meets a fault', () => {
  it('answers 2xx when the commit happened but its answer was lost, committing once', async () => {
    const api = await createdRoute();
    const { result: response } = await withTransactionFault('commit-then-lose-answer', 1, () =>
      api.patchVersion('v2', { weight: 30 }, { headers: { 'X-Request-Id': 'lost-answer' } }),
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ revision: 2, versions: { v2: { weight: 30 } } });
    expect(await revisionNumbers(api)).toEqual([2, 1]);
    const revision = await api.getRevision(2);
    expect(revision.body).toMatchObject({ correlationId: 'lost-answer' });
  });

  it('answers 201 for a creation whose answer was lost (the route did not exist before)', async () => {
    const api = registry(uniqueTenant());
    const { result: response } = await withTransactionFault('commit-then-lose-answer', 1, () => api.putRoute(twoVersionBody()));
    expect(response.status).toBe(201);
    expect(await revisionNumbers(api)).toEqual([1]);
  });

  it('answers 201 for a new version whose answer was lost, and 200 for an existing one', async () => {
    const api = await createdRoute();
    const version = { url: 'https://checkout-v3.acme.example', weight: 10, state: 'active' as const };
    const { result: added } = await withTransactionFault('commit-then-lose-answer', 1, () => api.putVersion('v3', version));
    expect(added.status).toBe(201);
    const { result: replaced } = await withTransactionFault('commit-then-lose-answer', 1, () =>
      api.putVersion('v3', { ...version, weight: 20 }),
    );
    expect(replaced.status).toBe(200);
    expect(await revisionNumbers(api)).toEqual([3, 2, 1]);
  });

  it('answers 2xx when the store committed and then answered 500', async () => {
    const api = await createdRoute();
    const { result: response, attempts } = await withTransactionFault('commit-then-fail', 1, () =>
      api.patchVersion('v2', { weight: 40 }),
    );
    expect(response.status).toBe(200);
    expect(attempts).toBe(1);
    expect(await revisionNumbers(api)).toEqual([2, 1]);
  });

  it('retries a transaction that was never sent and commits it once', async () => {
    const api = await createdRoute();
    const { result: response, attempts } = await withTransactionFault('refuse-before-sending', 1, () =>
      api.patchVersion('v2', { weight: 50 }),
    );
    expect(response.status).toBe(200);
    expect(attempts).toBe(2);
    expect(await revisionNumbers(api)).toEqual([2, 1]);
  });

  it('answers 503 outcome-unknown with Retry-After when no attempt is ever answered, and nothing landed', async () => {
    const api = await createdRoute();
    const { result: response, attempts } = await withTransactionFault('never-answer', 100, () =>
      api.patchVersion('v2', { weight: 60 }),
    );
    const problem = expectProblem(response, 503);
    expect(problem.type).toMatch(/\/outcome-unknown$/);
    expect(response.headers['retry-after']).toBe('1');
    // The retry budget: three attempts, then the answer.
    expect(attempts).toBe(3);
    // Nothing was sent, so nothing may be in the history (no ghost commit).
    expect(await revisionNumbers(api)).toEqual([1]);
  });

  it('answers 503 unavailable (not unknown) when every attempt was refused before sending', async () => {
    const api = await createdRoute();
    const { result: response } = await withTransactionFault('refuse-before-sending', 100, () =>
      api.patchVersion('v2', { weight: 70 }),
    );
    const problem = expectProblem(response, 503);
    expect(problem.type).toMatch(/\/unavailable$/);
    expect(response.headers['retry-after']).toBe('1');
    expect(await revisionNumbers(api)).toEqual([1]);
  });

  it('never answers 412 to a caller whose own lost-answer attempt is what moved the route', async () => {
    const api = await createdRoute();
    const { result: response } = await withTransactionFault('commit-then-lose-answer', 1, () =>
      api.patchVersion('v2', { weight: 35 }, { headers: { 'If-Match': '"1"' } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.etag).toBe('"2"');
  });
});

describe('request ids in the history', () => {
  it('records the server-issued requestId and the caller x-request-id as correlationId, never the other way', async () => {
    const api = await createdRoute();
    const response = await api.patchVersion('v2', { weight: 20 }, { headers: { 'X-Request-Id': 'caller-chosen-id' } });
    expect(response.status).toBe(200);
    expect(response.headers['x-request-id']).toBe('caller-chosen-id');
    const revision = (await api.getRevision(2)).body;
    expect(revision.correlationId).toBe('caller-chosen-id');
    expect(revision.requestId).not.toBe('caller-chosen-id');
    expect(revision.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const audit = (await api.audit()).body.items[0];
    expect(audit).toMatchObject({ revision: 2, requestId: revision.requestId, correlationId: 'caller-chosen-id' });
  });

  it('gives two requests with the same caller id two different request ids', async () => {
    const api = await createdRoute();
    await api.patchVersion('v2', { weight: 21 }, { headers: { 'X-Request-Id': 'same' } });
    await api.patchVersion('v2', { weight: 22 }, { headers: { 'X-Request-Id': 'same' } });
    const ids = (await api.listRevisions()).body.items.slice(0, 2).map((item) => item.requestId);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('unknown query parameters', () => {
  const writes: [string, (api: Registry) => Promise<Response<unknown>>][] = [
    ['a PATCH with ?dryRun=true', (api) => api.patchVersion('v2', { weight: 99 }, { query: { dryRun: 'true' } })],
    ['a route PUT', (api) => api.putRoute({ versions: {} }, { query: { force: '1' } })],
    ['a version PUT', (api) => api.putVersion('v9', { url: 'https://v9.example.com' }, { query: { dryRun: 'true' } })],
    ['a version DELETE', (api) => api.deleteVersion('v2', { query: { cascade: 'yes' } })],
    ['a route DELETE', (api) => api.deleteRoute({ query: { dryRun: 'true' } })],
    ['a rollback', (api) => api.rollback({ revision: 1 }, { query: { dryRun: 'true' } })],
    ['a read', (api) => api.getRoute({ query: { fields: 'versions' } })],
  ];

  it.each(writes)('refuses %s with 400 naming the parameter, changing nothing', async (_name, request) => {
    const api = await createdRoute();
    const response = await request(api);
    const problem = expectProblem(response, 400);
    expect(problem.errors?.map((error) => error.path)).toEqual([
      expect.stringMatching(/^query\.(dryRun|force|cascade|fields)$/),
    ]);
    expect(await revisionNumbers(api)).toEqual([1]);
  });
});
