/**
 * The change-feed follower (the client's default): one round at a time against a fake
 * tenant that keeps a real history (the snapshot with its `seq` and ETag, the feed with
 * `after`, `limit` and `latest`), then inside the client's loop. After every round the
 * follower's state must be what a fresh snapshot gives: the same routes, revisions, `seq`
 * and ETag. When the feed cannot continue (a gap, a page that fails its checks, a `latest`
 * below the state, a refusal such as 403) the round loads the snapshot and says why;
 * a transient failure is thrown and leaves the held state as it was.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChangeFeedError,
  ChangeFeedFollower,
  createClient,
  SnapshotFetchError,
  type ClientOptions,
  type FollowOutcome,
  type TenantState,
} from '../../../client/index.ts';
import { applyChanges, parseSnapshot, type FeedChange, type SequencedState } from '../../../client/src/tenant-state.ts';
import { seededRandom } from '#test/support/seeded-random';
import { clientHarness, closeHarnessClients, FakeSnapshotEndpoint, FakeTenantApi, sampleRoute, type ClientHarness } from './client-fakes.ts';

const tenant = 'acme';
const baseUrl = 'https://api.example/prod';
const signal = new AbortController().signal;

/** What a fresh snapshot of `api` gives: the state every round must end at. */
function fresh(api: FakeTenantApi): TenantState {
  const body = api.snapshotBody();
  return parseSnapshot(body, tenant, `"${body.seq}"`);
}

function feedFollower(api: FakeTenantApi, pageSize?: number): { follower: ChangeFeedFollower; fallbacks: ChangeFeedError[] } {
  const fallbacks: ChangeFeedError[] = [];
  const follower = new ChangeFeedFollower({
    baseUrl,
    tenant,
    getToken: () => 'token',
    fetch: api.fetch,
    requestTimeoutMs: 5000,
    onFallback: (error) => fallbacks.push(error),
    ...(pageSize === undefined ? {} : { pageSize }),
  });
  return { follower, fallbacks };
}

/** One round from `current`; the state held afterwards. */
async function round(follower: ChangeFeedFollower, current: TenantState | undefined): Promise<TenantState> {
  const outcome: FollowOutcome = await follower.follow(current, signal);
  if (outcome.kind === 'replaced') return outcome.state;
  if (current === undefined) throw new Error('unchanged without a state');
  return current;
}

/** A tenant with `services` created, one change each. */
function tenantWith(...services: string[]): FakeTenantApi {
  const api = new FakeTenantApi(tenant);
  for (const service of services) api.put(service);
  return api;
}

describe('ChangeFeedFollower, one round at a time', () => {
  it('loads the snapshot first, then asks the feed after its seq; nothing new is "unchanged"', async () => {
    const api = tenantWith('checkout', 'search');
    const { follower, fallbacks } = feedFollower(api);
    const first = await round(follower, undefined);
    expect(first).toEqual(fresh(api));
    expect(first.seq).toBe(2);
    expect(await follower.follow(first, signal)).toEqual({ kind: 'unchanged' });
    expect(api.requests.map((request) => request.url)).toEqual([
      'https://api.example/prod/v1/tenants/acme/snapshot',
      'https://api.example/prod/v1/tenants/acme/changes?after=2&limit=1000',
    ]);
    expect(api.requests[1]?.headers.get('authorization')).toBe('Bearer token');
    expect(fallbacks).toEqual([]);
  });

  it('applies creations, updates, deletions and re-creations, and ends where a fresh snapshot is', async () => {
    const api = tenantWith('checkout', 'search');
    const { follower, fallbacks } = feedFollower(api);
    let state = await round(follower, undefined);
    api.put('checkout', [0, 100]);
    api.put('basket');
    api.remove('search');
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect({ seq: state.seq, etag: state.etag }).toEqual({ seq: 5, etag: '"5"' });
    expect(state.routes.get('checkout/prod')?.revision).toBe(2);
    expect(state.routes.has('search/prod')).toBe(false);

    api.put('search'); // created again: revision 3, after the deletion's 2
    api.remove('basket');
    const before = state;
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(state.routes.get('search/prod')?.revision).toBe(3);
    // The round worked on a copy: the state it started from is as it was.
    expect([...before.routes.keys()].sort()).toEqual(['basket/prod', 'checkout/prod']);
    expect(api.requestsTo('snapshot')).toHaveLength(1);
    expect(fallbacks).toEqual([]);
  });

  it('ends every round where a fresh snapshot is, over 400 seeded random changes', async () => {
    const random = seededRandom(20261201);
    const services = ['checkout', 'search', 'basket', 'profile', 'cart', 'login'];
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api, 7);
    let state = await round(follower, undefined);
    while (api.seq < 400) {
      const batch = 1 + Math.floor(random() * 9);
      for (let index = 0; index < batch; index += 1) {
        const service = services[Math.floor(random() * services.length)] ?? 'checkout';
        if (api.snapshotBody().routes.some((route) => route.service === service) && random() < 0.3) api.remove(service);
        else api.put(service, [Math.floor(random() * 100), Math.floor(random() * 100)]);
      }
      state = await round(follower, state);
      expect({ seq: api.seq, state }).toEqual({ seq: api.seq, state: fresh(api) });
    }
    // Batches over 7 changes (and more than the routes held) took the snapshot; the rest the feed.
    expect(api.requestsTo('changes').length).toBeGreaterThan(api.requestsTo('snapshot').length);
    expect(fallbacks).toEqual([]);
  });

  it('follows the pages until latest, asking after the last seq applied', async () => {
    const api = tenantWith('a', 'b', 'c', 'd', 'e', 'f');
    const { follower } = feedFollower(api, 2);
    let state = await round(follower, undefined);
    for (const service of ['a', 'b', 'c', 'd', 'e']) api.put(service, [1, 1]);
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(api.requestsTo('changes').map((url) => url.search)).toEqual(['?after=6&limit=2', '?after=8&limit=2', '?after=10&limit=2']);
    expect(api.requestsTo('snapshot')).toHaveLength(1);
  });

  it('loads the snapshot instead when more changes wait than routes and a page hold', async () => {
    const api = tenantWith('a', 'b', 'c');
    const { follower, fallbacks } = feedFollower(api, 2);
    let state = await round(follower, undefined);
    for (let index = 0; index < 4; index += 1) api.put('a', [index, 1]);
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(api.requestsTo('changes')).toHaveLength(1);
    expect(api.requestsTo('snapshot')).toHaveLength(2);
    expect(fallbacks).toEqual([]);
  });

  it('skips a change the snapshot already holds (its routes are at least as new as its seq), never going back', async () => {
    const api = tenantWith('checkout');
    api.put('checkout', [0, 100]);
    api.put('checkout', [50, 50]);
    api.snapshotLabelBehind = 2; // labelled 1 while its route is at revision 3 (seq 3)
    const { follower, fallbacks } = feedFollower(api);
    let state = await round(follower, undefined);
    expect({ seq: state.seq, revision: state.routes.get('checkout/prod')?.revision }).toEqual({ seq: 1, revision: 3 });
    api.snapshotLabelBehind = 0;
    api.indexLag = 1; // the round ends after change 2 (revision 2), which the state has passed
    state = await round(follower, state);
    expect({ seq: state.seq, revision: state.routes.get('checkout/prod')?.revision }).toEqual({ seq: 2, revision: 3 });
    api.indexLag = 0;
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(api.requestsTo('snapshot')).toHaveLength(1);
    expect(fallbacks).toEqual([]);
  });

  it('falls back to the snapshot on a gap in seq, reports it, and uses the feed again afterwards', async () => {
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api);
    let state = await round(follower, undefined);
    api.put('search');
    api.put('checkout', [0, 100]);
    api.hidden.add(2);
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(fallbacks).toEqual([expect.objectContaining({ problem: 'gap', message: expect.stringContaining('change 3 after 1') })]);
    api.hidden.clear();
    api.put('basket');
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(api.requestsTo('snapshot')).toHaveLength(2);
    expect(api.requestsTo('changes')).toHaveLength(2);
  });

  it("falls back when the feed's latest is below the state's seq", async () => {
    const api = tenantWith('checkout', 'search');
    const { follower, fallbacks } = feedFollower(api);
    const state = await round(follower, undefined);
    api.feedScript = [{ raw: JSON.stringify({ items: [], latest: 1 }) }];
    api.put('basket');
    expect(await round(follower, state)).toEqual(fresh(api));
    expect(fallbacks.map((error) => error.problem)).toEqual(['behind']);
  });

  it('polls the snapshot from then on when the feed answers 403, and says so once', async () => {
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api);
    let state = await round(follower, undefined);
    api.feedScript = [{ status: 403, body: '{"title":"Forbidden"}' }];
    api.put('search');
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(await follower.follow(state, signal)).toEqual({ kind: 'unchanged' });
    api.put('basket');
    expect(await round(follower, state)).toEqual(fresh(api));
    expect(fallbacks).toEqual([expect.objectContaining({ problem: 'unavailable', status: 403 })]);
    expect(fallbacks[0]).toBeInstanceOf(ChangeFeedError);
    expect(api.requestsTo('changes')).toHaveLength(1);
    // The snapshot polls after the switch send the held ETag (one 304).
    expect(api.requests.slice(2).map((request) => request.headers.get('if-none-match'))).toEqual(['"1"', '"2"', '"2"']);
  });

  const malformedPages: [string, (api: FakeTenantApi) => string, RegExp][] = [
    ['not JSON', () => '{"items": [', /the page is not JSON/],
    ['no items', (api) => JSON.stringify({ latest: api.seq }), /items must be an array/],
    ['a weight out of bounds', (api) => page(api, (change) => ({ ...change, route: withWeight(change.route, 10_001) })), /weight must be an integer/],
    ['an update without its route', (api) => page(api, (change) => ({ ...change, route: null })), /route must be null exactly when the route was deleted/],
    ["another tenant's route", (api) => page(api, (change) => ({ ...change, route: { ...change.route, tenant: 'other' } })), /route.tenant must be acme/],
    ['a route of another revision', (api) => page(api, (change) => ({ ...change, revision: 9 })), /route must be checkout\/prod at revision 9/],
    ['an unknown kind', (api) => page(api, (change) => ({ ...change, kind: 'moved' })), /kind must be created, updated or deleted/],
  ];

  it.each(malformedPages)('refuses a page with %s whole, reports it, and loads the snapshot', async (_what, body, message) => {
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api);
    const state = await round(follower, undefined);
    api.put('checkout', [0, 100]);
    api.feedScript = [{ raw: body(api) }];
    expect(await round(follower, state)).toEqual(fresh(api));
    expect(fallbacks).toEqual([expect.objectContaining({ problem: 'malformed', message: expect.stringMatching(message) })]);
  });

  it('throws when the snapshot cannot be had after a malformed page, and leaves the held state as it was', async () => {
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api);
    const state = await round(follower, undefined);
    const held = structuredClone({ routes: [...state.routes], seq: state.seq, etag: state.etag });
    api.put('checkout', [0, 100]);
    api.feedScript = [{ raw: page(api, (change) => ({ ...change, route: withWeight(change.route, -1) })) }];
    api.snapshotDown = true;
    await expect(follower.follow(state, signal)).rejects.toMatchObject({ name: 'SnapshotFetchError', message: expect.stringContaining('ECONNREFUSED') });
    expect(fallbacks.map((error) => error.problem)).toEqual(['malformed']);
    expect(structuredClone({ routes: [...state.routes], seq: state.seq, etag: state.etag })).toEqual(held);
  });

  it('throws a transient failure of the feed (500, Retry-After) without loading the snapshot', async () => {
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api);
    const state = await round(follower, undefined);
    api.feedScript = [{ status: 503, retryAfter: '3' }];
    const failure = await follower.follow(state, signal).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SnapshotFetchError);
    expect(failure).toMatchObject({ status: 503, retryAfterMs: 3000 });
    expect(api.requestsTo('snapshot')).toHaveLength(1);
    expect(fallbacks).toEqual([]);
  });

  it('returns the run the index shows while it lags, and loads the snapshot when it shows none', async () => {
    const api = tenantWith('checkout');
    const { follower, fallbacks } = feedFollower(api);
    let state = await round(follower, undefined);
    api.put('search');
    api.put('basket');
    api.indexLag = 1;
    state = await round(follower, state);
    expect({ seq: state.seq, etag: state.etag, routes: [...state.routes.keys()] }).toEqual({
      seq: 2,
      etag: '"2"',
      routes: ['checkout/prod', 'search/prod'],
    });
    api.indexLag = 0;
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(api.requestsTo('snapshot')).toHaveLength(1);

    api.put('profile');
    api.indexLag = 1;
    state = await round(follower, state);
    expect(state).toEqual(fresh(api));
    expect(api.requestsTo('snapshot')).toHaveLength(2);
    expect(fallbacks).toEqual([]);
  });

  it('keeps polling the snapshot when the server sends no seq', async () => {
    const endpoint = new FakeSnapshotEndpoint(tenant);
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' }, { status: 304 }];
    const follower = new ChangeFeedFollower({ baseUrl, tenant, getToken: () => 'token', fetch: endpoint.fetch, requestTimeoutMs: 5000 });
    const state = await round(follower, undefined);
    expect(await follower.follow(state, signal)).toEqual({ kind: 'unchanged' });
    expect(endpoint.requests.map((request) => new URL(request.url).pathname)).toEqual(['/prod/v1/tenants/acme/snapshot', '/prod/v1/tenants/acme/snapshot']);
  });
});

describe('applyChanges', () => {
  const state: SequencedState = {
    tenant,
    routes: new Map([['checkout/prod', sampleRoute(tenant, 'checkout', 3)]]),
    etag: '"7"',
    seq: 7,
  };
  const change = (seq: number, revision: number, kind: FeedChange['kind']): FeedChange => ({
    seq,
    service: 'checkout',
    env: 'prod',
    revision,
    kind,
    route: kind === 'deleted' ? null : sampleRoute(tenant, 'checkout', revision),
    occurredAt: '2026-12-01T00:00:00.000Z',
  });

  it('refuses a change whose revision skips one of the route, or a creation of a route held live', () => {
    expect(() => applyChanges(state, [change(8, 5, 'updated')])).toThrow(/checkout\/prod updated at revision 5 while revision 3 is held/);
    expect(() => applyChanges(state, [change(8, 4, 'created')])).toThrow(ChangeFeedError);
    expect(() => applyChanges(state, [change(9, 4, 'updated')])).toThrow(/change 9 after 7/);
  });

  it('keeps an ETag of another form only while the seq stays', () => {
    const tagged = { ...state, etag: 'W/"abc"' };
    expect(applyChanges(tagged, []).etag).toBe('W/"abc"');
    expect(applyChanges(tagged, [change(8, 4, 'deleted')])).toMatchObject({ etag: undefined, seq: 8, routes: new Map() });
  });
});

describe('the client following the change feed (the default)', () => {
  afterEach(closeHarnessClients);

  const harness = (api: FakeTenantApi, options: Partial<ClientOptions> = {}): ClientHarness => clientHarness(api.fetch, options);

  it('reports each change with the seq and ETag a snapshot would carry, and confirms an unchanged tenant', async () => {
    const api = tenantWith('checkout', 'search');
    const { client, scheduler, changes, errors } = harness(api);
    await client.start();
    api.put('checkout', [0, 100]);
    api.remove('search');
    await scheduler.nextTimer();
    await scheduler.cycle();
    expect(changes.at(-1)).toEqual({
      tenant,
      etag: '"4"',
      seq: 4,
      changes: [
        { service: 'checkout', env: 'prod', previousRevision: 1, revision: 2 },
        { service: 'search', env: 'prod', previousRevision: 1, revision: null },
      ],
    });
    expect(client.resolve('checkout', 'prod', { key: 'alice' })).toMatchObject({ version: 'v2', revision: 2 });
    await scheduler.cycle();
    expect(changes).toHaveLength(2);
    expect(client.staleness()).toBe(0);
    expect(api.requestsTo('snapshot')).toHaveLength(1);
    expect(api.requestsTo('changes').map((url) => url.searchParams.get('after'))).toEqual(['2', '4']);
    expect(errors).toEqual([]);
  });

  it('does not count a round that the lagging index cut short as confirming the state', async () => {
    const api = tenantWith('checkout');
    const { client, scheduler } = harness(api);
    await client.start();
    const confirmedAt = scheduler.time;
    api.put('search');
    api.put('basket');
    api.indexLag = 1;
    await scheduler.nextTimer();
    await scheduler.cycle();
    expect(client.route('search', 'prod')?.revision).toBe(1);
    expect(client.route('basket', 'prod')).toBeUndefined();
    expect(client.staleness()).toBe(scheduler.time - confirmedAt);
    expect(client.staleness()).toBeGreaterThan(0);
    api.indexLag = 0;
    await scheduler.nextTimer();
    await scheduler.cycle();
    expect(client.route('basket', 'prod')?.revision).toBe(1);
    expect(client.staleness()).toBe(0);
  });

  it('reports a 403 from the feed as an error event and keeps the routes current from the snapshot', async () => {
    const api = tenantWith('checkout');
    const { client, scheduler, errors } = harness(api);
    await client.start();
    api.feedScript = [{ status: 403 }];
    api.put('checkout', [0, 100]);
    await scheduler.nextTimer();
    await scheduler.cycle();
    await scheduler.cycle();
    expect(errors).toEqual([expect.objectContaining({ name: 'ChangeFeedError', problem: 'unavailable', status: 403 })]);
    expect(client.route('checkout', 'prod')?.revision).toBe(2);
    expect(client.staleness()).toBe(0);
    expect(api.requestsTo('changes')).toHaveLength(1);
  });

  it('keeps the last good state through a malformed page while the snapshot is down, with backoff', async () => {
    const api = tenantWith('checkout');
    const { client, scheduler, errors } = harness(api, { backoff: { initialMs: 100, maxMs: 1000 } });
    await client.start();
    const confirmedAt = scheduler.time;
    api.put('checkout', [0, 100]);
    api.feedScript = [{ raw: '{"items": 1, "latest": 2}' }];
    api.snapshotDown = true;
    await scheduler.nextTimer();
    expect(await scheduler.cycle()).toBe(1000);
    expect(errors.map((error) => error.name)).toEqual(['ChangeFeedError', 'SnapshotFetchError']);
    expect(client.route('checkout', 'prod')?.revision).toBe(1);
    expect((await scheduler.nextTimer()).delayMs).toBe(75);
    expect(client.staleness()).toBe(scheduler.time - confirmedAt);
    api.snapshotDown = false;
    await scheduler.cycle();
    expect(client.route('checkout', 'prod')?.revision).toBe(2);
    expect(client.staleness()).toBe(0);
  });

  it('restarted from the disk cache while the snapshot is down, continues the feed from the cached seq', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tm-client-feed-'));
    try {
      const cachePath = path.join(dir, 'acme.json');
      const api = tenantWith('checkout', 'search');
      const first = harness(api, { cachePath });
      await first.client.start();
      await first.scheduler.nextTimer();
      await first.client.close();

      api.put('basket');
      api.snapshotDown = true;
      const second = harness(api, { cachePath });
      await second.client.start();
      expect(second.errors.map((error) => error.name)).toEqual(['SnapshotFetchError']);
      expect(second.changes[0]).toMatchObject({ seq: 2, etag: '"2"' });
      await second.scheduler.cycle();
      expect(second.changes.at(-1)).toEqual({
        tenant,
        etag: '"3"',
        seq: 3,
        changes: [{ service: 'basket', env: 'prod', previousRevision: null, revision: 1 }],
      });
      expect(api.requestsTo('changes').at(-1)?.searchParams.get('after')).toBe('2');
      expect(second.client.staleness()).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a follow it does not know", () => {
    expect(() => createClient({ baseUrl, tenant, getToken: () => 't', follow: 'events' as 'changes' })).toThrow(/follow must be/);
  });
});

/** The feed's answer for `api`, each change passed through `edit`. */
function page(api: FakeTenantApi, edit: (change: Record<string, unknown> & { route: Record<string, unknown> }) => unknown): string {
  const items = api.history.slice(-1).map((change) => edit({ ...change, route: { ...change.route } }));
  return JSON.stringify({ items, latest: api.seq });
}

function withWeight(route: Record<string, unknown>, weight: number): Record<string, unknown> {
  const versions = route.versions as Record<string, Record<string, unknown>>;
  return { ...route, versions: { ...versions, v1: { ...versions.v1, weight } } };
}
