/**
 * The change feed and the snapshot (API.md, "Change feed and snapshot") through the real
 * handlers: every committed change of a tenant gets the next `seq`, the feed lists them in
 * order from any point, and a snapshot 304 costs one small read, counted at the SDK, however
 * many routes the tenant has.
 */
import { handler as listChanges } from '#functions/tenants/list-changes';
import { putVersion } from '#shared/domain/route-changes';
import { dynamoDbClient } from '#shared/clients/dynamodb';
import { commitChange } from '#shared/store/commit-change';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import { bearer } from '#test/support/auth-tokens';
import { expectProblem, registry, twoVersionBody, uniqueTenant, version } from './registry-client.ts';

interface Change {
  seq: number;
  service: string;
  env: string;
  revision: number;
  kind: string;
  route: { revision: number } | null;
  occurredAt: string;
}

async function changes(tenant: string, query: Record<string, string> = {}, scope = 'resolve') {
  const response = await listChanges(
    apiGatewayEvent({
      method: 'GET',
      path: `/v1/tenants/${tenant}/changes`,
      pathParameters: { tenant },
      headers: { Authorization: await bearer({ tenant, scope }) },
      query,
    }),
    lambdaContext(),
  );
  return { status: response.statusCode, body: JSON.parse(response.body) as { items: Change[]; latest: number } };
}

/** Counts the DynamoDB commands this file's handlers send while `act` runs. */
async function countingCommands<T>(act: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const commands: string[] = [];
  const name = `countCommands${Math.random()}`;
  dynamoDbClient.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await act(), commands };
  } finally {
    dynamoDbClient.middlewareStack.remove(name);
  }
}

describe('the change feed', () => {
  it('lists every change of the tenant in sequence order, across routes, with its kind', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    expect((await changes(tenant)).body).toEqual({ items: [], latest: 0 });

    await api.putRoute(twoVersionBody(), {}, 'checkout', 'prod');
    await api.putRoute(twoVersionBody(), {}, 'billing', 'prod');
    await api.patchVersion('v2', { weight: 20 }, {}, 'checkout', 'prod');
    await api.deleteRoute({}, 'billing', 'prod');
    await api.putRoute(twoVersionBody(), {}, 'billing', 'prod');
    // A no-op commits nothing, so it takes no sequence number.
    await api.patchVersion('v2', { weight: 20 }, {}, 'checkout', 'prod');

    const feed = await changes(tenant);
    expect(feed.status).toBe(200);
    expect(feed.body.latest).toBe(5);
    expect(feed.body.items.map((item) => [item.seq, item.service, item.revision, item.kind])).toEqual([
      [1, 'checkout', 1, 'created'],
      [2, 'billing', 1, 'created'],
      [3, 'checkout', 2, 'updated'],
      [4, 'billing', 2, 'deleted'],
      [5, 'billing', 3, 'created'],
    ]);
    expect(feed.body.items[3]?.route).toBeNull();
    expect(feed.body.items[2]?.route).toMatchObject({ revision: 2 });
  });

  it('starts after the given sequence and stops at the limit', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    for (const weight of [11, 12, 13, 14]) await api.patchVersion('v2', { weight });

    const page = await changes(tenant, { after: '2', limit: '2' });
    expect(page.body.items.map((item) => item.seq)).toEqual([3, 4]);
    expect(page.body.latest).toBe(5);
    expect((await changes(tenant, { after: '5' })).body).toEqual({ items: [], latest: 5 });
  });

  it('gives gap-free sequence numbers to writers racing on routes of one tenant', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await Promise.all(Array.from({ length: 8 }, (_, index) => api.putVersion('v1', version('v1'), {}, `svc-${index}`, 'prod')));
    const feed = await changes(tenant);
    expect(feed.body.items.map((item) => item.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(feed.body.items.map((item) => item.service)).size).toBe(8);
  });

  it.each([
    [{ limit: '0' }, 'query.limit'],
    [{ limit: '1001' }, 'query.limit'],
    [{ after: '-1' }, 'query.after'],
    [{ since: '3' }, 'query.since'],
  ])('refuses %j with 400 naming %s', async (query, path) => {
    const tenant = uniqueTenant();
    const response = await changes(tenant, query);
    expect(response.status).toBe(400);
    expect((response.body as unknown as { errors: { path: string }[] }).errors.map((error) => error.path)).toContain(path);
  });

  it('takes resolve or routes:read, and refuses a token with neither', async () => {
    const tenant = uniqueTenant();
    expect((await changes(tenant, {}, 'routes:read')).status).toBe(200);
    expect((await changes(tenant, {}, 'audit:read')).status).toBe(403);
  });
});

describe('the snapshot', () => {
  it('carries the sequence, derives its ETag from it, and answers 304 from one small read for 1,000 routes', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    // One thousand routes, committed through the one write path as a big tenant's would be.
    for (let index = 0; index < 1_000; index += 1) {
      await commitChange(
        {
          key: { tenant, service: `svc-${String(index).padStart(4, '0')}`, env: 'prod' },
          actor: 'seed',
          requestId: `seed-${index}`,
          preconditions: {},
          deadline: Date.now() + 30_000,
        },
        putVersion('v1', { url: `https://svc-${index}.example.com`, weight: 100, state: 'active' }),
      );
    }
    const full = await api.snapshot();
    expect(full.status).toBe(200);
    expect(full.headers.etag).toBe('"1000"');
    expect(full.body).toMatchObject({ tenant, seq: 1000 });
    expect(full.body.routes).toHaveLength(1_000);

    const { result: notModified, commands } = await countingCommands(() =>
      api.snapshot({ headers: { 'If-None-Match': '"1000"' } }),
    );
    expect(notModified.status).toBe(304);
    expect(commands).toEqual(['GetItemCommand']);

    // The same execution environment already built this sequence's snapshot: one read too.
    const { result: again, commands: againCommands } = await countingCommands(() => api.snapshot());
    expect(again.status).toBe(200);
    expect(again.body.routes).toHaveLength(1_000);
    expect(againCommands).toEqual(['GetItemCommand']);
  }, 120_000);

  it('changes its ETag with every commit and never answers 304 to an older one', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    const first = await api.snapshot();
    await api.patchVersion('v2', { weight: 33 });
    const second = await api.snapshot({ headers: { 'If-None-Match': first.headers.etag ?? '' } });
    expect(second.status).toBe(200);
    expect(second.headers.etag).toBe('"2"');
    expect(second.body.routes[0]).toMatchObject({ revision: 2, versions: { v2: { weight: 33 } } });
    expectProblem(await api.snapshot({ query: { seq: '1' } }), 400);
  });
});
