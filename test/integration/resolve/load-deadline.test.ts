/**
 * A table that hangs instead of failing: resolve stops waiting after its load deadline and
 * serves the last-known-good route, instead of spending the SDK's timeouts and retries; with
 * no route held, the caller gets 503 with Retry-After, never a 500.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Route } from '#shared/domain/route.schema';
import { dynamoDbClient } from '#shared/clients/dynamodb';
import { HttpError } from '#shared/errors/http-errors';
import type { RouteKey } from '#shared/store/route.store';
import { registry, twoVersionBody, uniqueTenant } from '../registry/registry-client.ts';

// Set before the module reads them at import: a short TTL, and the production load deadline
// (the local stack's is 30 s), which the first, real load must also beat on a busy machine.
const LOAD_DEADLINE_MS = 1500;
Object.assign(process.env, { RESOLVE_CACHE_TTL_MS: '100', RESOLVE_LOAD_DEADLINE_MS: String(LOAD_DEADLINE_MS) });

interface Cache {
  get(key: RouteKey): Promise<{ value: Route | undefined; source: string }>;
}
let routeCache: Cache;

beforeAll(async () => {
  ({ routeCache } = (await import('#shared/resolve/resolve-route')) as unknown as { routeCache: Cache });
});

/** Every GetItem hangs for twice the deadline before it goes on, for the length of `work`. */
async function whileGetItemHangs<T>(work: () => Promise<T>): Promise<T> {
  const hang = 'hang-get-item';
  dynamoDbClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetItemCommand') await sleep(2 * LOAD_DEADLINE_MS);
      return next(args);
    },
    { step: 'initialize', name: hang },
  );
  try {
    return await work();
  } finally {
    dynamoDbClient.middlewareStack.remove(hang);
  }
}

it('serves the cached route when a reload hangs past the deadline', async () => {
  const tenant = uniqueTenant();
  expect((await registry(tenant).putRoute(twoVersionBody())).status).toBe(201);
  const key = { tenant, service: 'checkout', env: 'prod' };
  expect((await routeCache.get(key)).source).toBe('load');
  await sleep(150);

  const answer = await whileGetItemHangs(() => routeCache.get(key));
  expect(answer.source).toBe('stale');
  expect(answer.value?.tenant).toBe(tenant);
});

it('answers 503 with Retry-After when a first load hangs past the deadline', async () => {
  const tenant = uniqueTenant();
  expect((await registry(tenant).putRoute(twoVersionBody())).status).toBe(201);
  const key = { tenant, service: 'checkout', env: 'prod' };
  const failure = await whileGetItemHangs(() => routeCache.get(key).then(() => undefined, (error: unknown) => error));
  expect(failure).toBeInstanceOf(HttpError);
  expect(failure).toMatchObject({ status: 503, headers: { 'Retry-After': expect.stringMatching(/^\d+$/) } });
});
