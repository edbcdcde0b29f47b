/**
 * The client's behaviour with a scripted snapshot endpoint and a manual clock: the first
 * load, `If-None-Match` and 304, change events, backoff with jitter and `Retry-After`,
 * staleness while the service is down, the disk cache, `start()` giving up, input checks
 * that agree with the endpoint's, and `close()` leaving nothing running. Time only moves
 * when a test fires a timer, so nothing here depends on how fast the machine is.
 *
 * These clients poll the snapshot (`follow: 'snapshot'`); the change-feed follower, the
 * default, is tested in client-change-feed.test.ts, over the same loop.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { endpoints } from '#shared/http/endpoints';
import {
  ClientClosedError,
  ResolveError,
  SnapshotFetchError,
  type ClientOptions,
} from '../../../client/index.ts';
import { clientHarness, closeHarnessClients, FakeSnapshotEndpoint, sampleRoute, type ClientHarness } from './client-fakes.ts';

const tenant = 'acme';
const baseUrl = 'https://api.example/prod';

interface Harness extends ClientHarness {
  endpoint: FakeSnapshotEndpoint;
}

/** This file tests the snapshot poller and the client's loop: the snapshot follower. */
function harness(options: Partial<ClientOptions> = {}, endpoint = new FakeSnapshotEndpoint(tenant)): Harness {
  return { ...clientHarness(endpoint.fetch, { getToken: () => 'token-1', follow: 'snapshot', ...options }), endpoint };
}

afterEach(closeHarnessClients);

function statusOf(act: () => unknown): number | undefined {
  try {
    act();
  } catch (error) {
    if (error instanceof ResolveError) return error.status;
    throw error;
  }
  return undefined;
}

describe('start() and the first snapshot', () => {
  it('loads the snapshot, then resolves locally as the server would', async () => {
    const { client, endpoint, changes } = harness();
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 3)], etag: '"e1"' }];
    await client.start();
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]?.url).toBe('https://api.example/prod/v1/tenants/acme/snapshot');
    expect(endpoint.requests[0]?.headers.get('authorization')).toBe('Bearer token-1');
    expect(endpoint.requests[0]?.headers.has('if-none-match')).toBe(false);
    expect(client.resolve('checkout', 'prod', { headers: { 'X-Canary': '1' } })).toEqual({
      version: 'v2',
      url: 'https://v2.checkout.example',
      revision: 3,
      reason: 'rule',
    });
    expect(client.resolve('checkout', 'prod', { version: 'v1' }).reason).toBe('pinned');
    expect(client.route('checkout', 'prod')?.revision).toBe(3);
    expect(changes).toEqual([
      { tenant, etag: '"e1"', seq: undefined, changes: [{ service: 'checkout', env: 'prod', previousRevision: null, revision: 3 }] },
    ]);
  });

  it('throws 404 for a route or pinned version it does not have, 503 when nothing takes traffic', async () => {
    const { client, endpoint } = harness();
    const drained = sampleRoute(tenant, 'drained', 1, [0, 0]);
    drained.versions.v1 = { url: 'https://v1.drained.example', weight: 0, state: 'draining' };
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 1), drained], etag: '"e1"' }];
    await client.start();
    expect(statusOf(() => client.resolve('nothing', 'prod'))).toBe(404);
    expect(statusOf(() => client.resolve('checkout', 'prod', { version: 'v9' }))).toBe(404);
    expect(statusOf(() => client.resolve('drained', 'prod', { key: 'alice' }))).toBe(503);
  });

  it('answers 503 before any state is loaded', () => {
    const { client } = harness();
    expect(statusOf(() => client.resolve('checkout', 'prod'))).toBe(503);
    expect(client.staleness()).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes the token from an async getToken, fresh for every request', async () => {
    let issued = 0;
    const { client, endpoint, scheduler } = harness({ getToken: async () => `token-${++issued}` });
    endpoint.script = [{ status: 200, routes: [], etag: '"e1"' }];
    await client.start();
    await scheduler.cycle();
    expect(endpoint.requests.map((request) => request.headers.get('authorization'))).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('rejects at once when the service refuses the tenant or scope (403), without retrying', async () => {
    const { client, endpoint, scheduler } = harness();
    endpoint.script = [{ status: 'error', code: 403 }];
    await expect(client.start()).rejects.toMatchObject({ name: 'SnapshotFetchError', status: 403 });
    expect(endpoint.requests).toHaveLength(1);
    expect(scheduler.pending()).toEqual([]);
  });

  it('retries transient failures and rejects once startTimeoutMs has passed', async () => {
    const { client, endpoint, scheduler, errors } = harness({ startTimeoutMs: 5000 });
    endpoint.script = [{ refuse: true }];
    const started = client.start();
    const outcome = started.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    for (let attempt = 0; attempt < 10 && scheduler.time < Date.parse('2026-12-01T12:00:05.000Z'); attempt += 1) {
      await scheduler.fireNext();
    }
    const error = await outcome;
    expect(error).toBeInstanceOf(SnapshotFetchError);
    expect((error as SnapshotFetchError).status).toBeUndefined();
    expect(errors.length).toBe(endpoint.requests.length);
    expect(endpoint.requests.length).toBeGreaterThan(2);
    expect(scheduler.pending()).toEqual([]);
  });
});

describe('following the snapshot', () => {
  it('sends the ETag as If-None-Match; a 304 keeps the state, emits no change and confirms it', async () => {
    const { client, endpoint, scheduler, changes } = harness();
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' }, { status: 304 }];
    await client.start();
    const startedAt = scheduler.time;
    await scheduler.nextTimer();
    expect(await scheduler.cycle()).toBe(1000);
    expect(endpoint.requests[1]?.headers.get('if-none-match')).toBe('"e1"');
    expect(changes).toHaveLength(1);
    expect(client.route('checkout', 'prod')?.revision).toBe(1);
    // Confirmed by the 304 sent at startedAt + 1000.
    expect(scheduler.time).toBe(startedAt + 1000);
    expect(client.staleness()).toBe(0);
  });

  it('replaces the state on a new snapshot and reports what changed, deletions included', async () => {
    const { client, endpoint, scheduler, changes } = harness();
    endpoint.script = [
      { status: 200, routes: [sampleRoute(tenant, 'checkout', 1), sampleRoute(tenant, 'search', 4)], etag: '"e1"' },
      { status: 200, routes: [sampleRoute(tenant, 'checkout', 2, [0, 100]), sampleRoute(tenant, 'basket', 1)], etag: '"e2"', seq: 9 },
      { status: 200, routes: [sampleRoute(tenant, 'checkout', 2, [0, 100]), sampleRoute(tenant, 'basket', 1)], etag: '"e2b"' },
    ];
    await client.start();
    await scheduler.cycle();
    expect(changes[1]).toEqual({
      tenant,
      etag: '"e2"',
      seq: 9,
      changes: [
        { service: 'basket', env: 'prod', previousRevision: null, revision: 1 },
        { service: 'checkout', env: 'prod', previousRevision: 1, revision: 2 },
        { service: 'search', env: 'prod', previousRevision: 4, revision: null },
      ],
    });
    expect(client.resolve('checkout', 'prod', { key: 'alice' })).toMatchObject({ version: 'v2', revision: 2 });
    expect(statusOf(() => client.resolve('search', 'prod'))).toBe(404);
    // Same routes under another tag: the state is replaced (new If-None-Match), no change event.
    await scheduler.cycle();
    expect(changes).toHaveLength(2);
    await scheduler.cycle();
    expect(endpoint.requests.at(-1)?.headers.get('if-none-match')).toBe('"e2b"');
  });

  it('refuses a snapshot that fails its checks and keeps answering from the last good one', async () => {
    const { client, endpoint, scheduler, errors } = harness();
    const bad = { ...sampleRoute(tenant, 'checkout', 2), versions: { v1: { url: 'https://x.example', weight: 10_001, state: 'active' } } };
    const foreign = sampleRoute('other', 'checkout', 5);
    endpoint.script = [
      { status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' },
      { raw: JSON.stringify({ tenant, routes: [bad] }), etag: '"e2"' },
      { status: 200, routes: [foreign], etag: '"e3"' },
      { raw: 'not json', etag: '"e4"' },
    ];
    await client.start();
    for (let cycle = 0; cycle < 3; cycle += 1) await scheduler.cycle();
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining('routes[0].versions.v1.weight'),
      expect.stringContaining('routes[0].tenant must be acme'),
      'the snapshot is not JSON',
    ]);
    expect(client.route('checkout', 'prod')?.revision).toBe(1);
    expect(client.resolve('checkout', 'prod', { version: 'v2' }).revision).toBe(1);
  });

  it('reports a listener that throws as an error and keeps following', async () => {
    const { client, endpoint, scheduler, errors } = harness();
    client.on('change', () => {
      throw new Error('listener bug');
    });
    endpoint.script = [
      { status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' },
      { status: 200, routes: [sampleRoute(tenant, 'checkout', 2)], etag: '"e2"' },
    ];
    await client.start();
    await scheduler.cycle();
    expect(errors.map((error) => error.message)).toEqual(['listener bug', 'listener bug']);
    expect(client.route('checkout', 'prod')?.revision).toBe(2);
  });
});

describe('failures: backoff, Retry-After and staleness', () => {
  it('backs off exponentially with jitter up to the cap, and returns to the poll interval on success', async () => {
    const { client, endpoint, scheduler } = harness({ backoff: { initialMs: 100, maxMs: 1000 } });
    endpoint.script = [
      { status: 200, routes: [], etag: '"e1"' },
      ...Array.from({ length: 6 }, () => ({ status: 'error', code: 500 }) as const),
      { status: 304 },
    ];
    await client.start();
    const delays: number[] = [];
    for (let cycle = 0; cycle < 8; cycle += 1) delays.push(await scheduler.cycle());
    const next = await scheduler.nextTimer();
    // Poll, then ceilings 100, 200, 400, 800, 1000, 1000 at 3/4 (random 0.5), then the poll interval again.
    expect([...delays, next.delayMs]).toEqual([1000, 75, 150, 300, 600, 750, 750, 1000, 1000]);
  });

  it('spreads retries between half and all of the ceiling', async () => {
    const draws = [0, 0.999_999];
    const { client, endpoint, scheduler } = harness({ backoff: { initialMs: 1000, maxMs: 60_000 }, random: () => draws.shift() ?? 0.5 });
    endpoint.script = [{ status: 'error', code: 503 }];
    const started = client.start().catch((error: unknown) => error);
    expect((await scheduler.nextTimer()).delayMs).toBe(500);
    await scheduler.cycle();
    expect((await scheduler.nextTimer()).delayMs).toBe(1999);
    await client.close();
    expect(await started).toBeInstanceOf(ClientClosedError);
  });

  it('waits at least as long as Retry-After asks (within the cap)', async () => {
    const { client, endpoint, scheduler } = harness();
    endpoint.script = [
      { status: 200, routes: [], etag: '"e1"' },
      { status: 'error', code: 429, retryAfter: '7' },
      { status: 'error', code: 503, retryAfter: '3600' },
      { status: 304 },
    ];
    await client.start();
    await scheduler.cycle();
    expect((await scheduler.nextTimer()).delayMs).toBe(7000);
    await scheduler.cycle();
    expect((await scheduler.nextTimer()).delayMs).toBe(30_000);
  });

  it('keeps answering from the last good state while the service is down, and staleness grows', async () => {
    const { client, endpoint, scheduler, errors } = harness();
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 5)], etag: '"e1"' }, { refuse: true }];
    await client.start();
    const confirmedAt = scheduler.time;
    const seen: number[] = [];
    for (let cycle = 0; cycle < 6; cycle += 1) {
      await scheduler.cycle();
      seen.push(client.staleness());
      expect(client.staleness()).toBe(scheduler.time - confirmedAt);
      expect(client.resolve('checkout', 'prod', { key: 'alice' })).toMatchObject({ revision: 5, reason: 'weighted' });
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen[5]).toBeGreaterThan(seen[0] ?? Number.POSITIVE_INFINITY);
    expect(errors).toHaveLength(6);
    expect(errors[0]?.message).toContain('ECONNREFUSED');
    // Back up: the next success confirms the state again.
    endpoint.script = [{ status: 304 }];
    const sentAt = (await scheduler.nextTimer()).dueAt;
    await scheduler.cycle();
    expect(client.staleness()).toBe(scheduler.time - sentAt);
    expect(client.staleness()).toBe(0);
  });
});

describe('the disk cache (cachePath)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tm-client-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the last good state, and a client started while the service is down starts from it', async () => {
    const cachePath = path.join(dir, 'nested', 'acme.json');
    const first = harness({ cachePath });
    first.endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 7)], etag: '"e7"', seq: 42 }];
    await first.client.start();
    const writtenAt = first.scheduler.time;
    await first.scheduler.nextTimer();
    await first.client.close();

    const down = new FakeSnapshotEndpoint(tenant);
    down.script = [{ refuse: true }];
    const second = harness({ cachePath }, down);
    second.scheduler.time = writtenAt + 60_000;
    await second.client.start();
    expect(second.errors).toHaveLength(1);
    expect(second.client.staleness()).toBe(60_000);
    expect(second.client.resolve('checkout', 'prod', { headers: { 'x-canary': '1' } })).toMatchObject({ version: 'v2', revision: 7 });
    expect(second.changes[0]).toMatchObject({ etag: '"e7"', seq: 42, changes: [{ service: 'checkout', revision: 7 }] });

    // The service comes back and confirms the cached state with a 304.
    down.script = [{ status: 304 }];
    await second.scheduler.cycle();
    expect(down.requests.at(-1)?.headers.get('if-none-match')).toBe('"e7"');
    expect(second.client.staleness()).toBe(0);
  });

  it('does not read the cache when the service answers', async () => {
    const cachePath = path.join(dir, 'acme.json');
    await writeFile(cachePath, 'garbage');
    const { client, endpoint, errors } = harness({ cachePath });
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' }];
    await client.start();
    expect(errors).toEqual([]);
    expect(JSON.parse(await readFile(cachePath, 'utf8'))).toMatchObject({ tenant, etag: '"e1"', routes: [{ revision: 1 }] });
  });

  it("refuses a corrupt cache or another tenant's, and keeps trying the service", async () => {
    for (const content of ['{not json', JSON.stringify({ format: 'traffic-manager-client-cache/1', baseUrl, tenant: 'other', routes: [] })]) {
      const cachePath = path.join(dir, 'acme.json');
      await writeFile(cachePath, content);
      const { client, endpoint, scheduler, errors } = harness({ cachePath });
      endpoint.script = [{ refuse: true }, { status: 200, routes: [sampleRoute(tenant, 'checkout', 3)], etag: '"e3"' }];
      const started = client.start();
      await scheduler.fireNext();
      await started;
      expect(errors).toHaveLength(2);
      expect(client.route('checkout', 'prod')?.revision).toBe(3);
    }
  });

  it('rewrites an unchanged state only when its confirmation is cacheRefreshMs old', async () => {
    const cachePath = path.join(dir, 'acme.json');
    const { client, endpoint, scheduler } = harness({ cachePath, cacheRefreshMs: 2500 });
    endpoint.script = [{ status: 200, routes: [], etag: '"e1"' }, { status: 304 }];
    await client.start();
    await scheduler.nextTimer();
    const confirmedAt = async (): Promise<number> => Date.parse((JSON.parse(await readFile(cachePath, 'utf8')) as { confirmedAt: string }).confirmedAt);
    const first = await confirmedAt();
    await scheduler.cycle();
    await scheduler.cycle();
    expect(await confirmedAt()).toBe(first);
    await scheduler.cycle();
    expect(await confirmedAt()).toBe(first + 3000);
  });
});

describe('close()', () => {
  it('cancels the timer and makes no request afterwards', async () => {
    const { client, endpoint, scheduler } = harness();
    endpoint.script = [{ status: 200, routes: [], etag: '"e1"' }];
    await client.start();
    await scheduler.nextTimer();
    expect(scheduler.pending()).toHaveLength(1);
    await client.close();
    expect(scheduler.pending()).toEqual([]);
    scheduler.time += 3_600_000;
    expect(endpoint.requests).toHaveLength(1);
  });

  it('aborts a request in flight and rejects a pending start() with ClientClosedError', async () => {
    let aborted = false;
    // Like fetch: rejects at once with an aborted signal, or when the signal aborts later.
    const hanging = (_input: string | URL | Request, init?: RequestInit): Promise<Response> =>
      new Promise((_resolve, reject) => {
        const signal = init?.signal;
        const abort = (): void => {
          aborted = true;
          reject(signal?.reason);
        };
        if (signal?.aborted === true) abort();
        else signal?.addEventListener('abort', abort);
      });
    const { client, scheduler } = harness({ fetch: hanging });
    const started = client.start();
    await client.close();
    await expect(started).rejects.toBeInstanceOf(ClientClosedError);
    expect(aborted).toBe(true);
    expect(scheduler.pending()).toEqual([]);
  });
});

describe('input checks', () => {
  it('refuses with 400 exactly what the resolve endpoint refuses with 400', async () => {
    const { client, endpoint } = harness();
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' }];
    await client.start();
    const query = endpoints.resolveRoute.query;
    const cases = [{ key: '' }, { key: 'k'.repeat(256) }, { key: 'k'.repeat(257) }, { key: '🚀'.repeat(128) }, { key: '🚀'.repeat(256) }, { key: '🚀'.repeat(257) }, { key: `${'k'.repeat(255)}🚀` }, { version: '-v1' }, { version: 'v1' }, { version: 'a'.repeat(64) }, { version: 'v1/x' }];
    for (const request of cases) {
      const serverRefuses = !query.safeParse(request).success;
      expect({ request, refused: statusOf(() => client.resolve('checkout', 'prod', request)) === 400 }).toEqual({ request, refused: serverRefuses });
    }
    expect(statusOf(() => client.resolve('Checkout', 'prod'))).toBe(400);
  });

  it('takes the last value of a repeated header, as API Gateway does', async () => {
    const { client, endpoint } = harness();
    endpoint.script = [{ status: 200, routes: [sampleRoute(tenant, 'checkout', 1)], etag: '"e1"' }];
    await client.start();
    expect(client.resolve('checkout', 'prod', { version: undefined, headers: { 'x-canary': ['0', '1'] } }).reason).toBe('rule');
    expect(client.resolve('checkout', 'prod', { key: 'alice', headers: { 'x-canary': ['1', '0'] } }).reason).toBe('weighted');
  });
});
