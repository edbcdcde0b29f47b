/**
 * The data-plane client following a running local stack over real HTTP (API.md, "Client
 * library for data planes"). Fifty committed changes to four routes (whole-route PUTs,
 * weight and state PATCHes, deletions and re-creations, rollbacks), drawn from a seeded
 * generator; after each one the test waits until the client holds the server's revision,
 * then checks that:
 * - the client holds exactly the routes the server's writes returned;
 * - for 10 000 requests (keys, some with rule headers, some pinned) on the changed route,
 *   the client answers what the engine answers on the server's current route: the same
 *   decision or the same error status. This checks that the client's state is the
 *   server's; resolving 10 000 requests over HTTP fifty times would make the test slow;
 * - for a sample of 200 of those requests, the client answers exactly what the server's
 *   resolve endpoint answers over HTTP (once the endpoint's cache shows the new revision).
 * The client follows the change feed (its default) every 100 ms: one snapshot, then every
 * change from the feed, which never has to fall back to the snapshot (checked), and at the
 * end it holds the snapshot's `seq` and ETag. A second client polls the snapshot
 * (`follow: 'snapshot'`, mostly answered 304, checked) and must hold the same routes after
 * every change. Then the API stops: the client keeps answering from its last good state while staleness()
 * grows, and a second client started with the same cachePath starts from disk.
 *
 * Waits are bounded (a deadline, then a failure naming what did not happen); none is an
 * assertion about speed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LocalServer } from '#local/server';
import { mintLocalToken } from '#local/token';
import { resolve as engineResolve } from '#shared/domain/resolve';
import type { Route, Rule, Version, VersionState } from '#shared/domain/route.schema';
import { HttpError } from '#shared/errors/http-errors';
import { bearer } from '#test/support/auth-tokens';
import { apiClient, type ApiClient, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';
import { createClient, ResolveError, type TrafficManagerClient } from '../../client/index.ts';
import { seededRandom } from '#test/support/seeded-random';

// The resolve endpoint's cache would otherwise hold a route for 2 s after each change.
const cacheEnv = { RESOLVE_CACHE_TTL_MS: '100', RESOLVE_CACHE_NEGATIVE_TTL_MS: '100' };
const previousEnv = Object.fromEntries(Object.keys(cacheEnv).map((name) => [name, process.env[name]]));
Object.assign(process.env, cacheEnv);

const run = randomUUID().slice(0, 8);
const tenant = `follow-${run}`;
const services = ['checkout', 'search', 'basket', 'profile'] as const;
const versionPool = ['v1', 'v2', 'v3', 'canary', 'blue', 'V4'] as const;
const CHANGES = 50;
const KEYS_PER_CHANGE = 10_000;
const HTTP_SAMPLE_EVERY = 50; // 10 000 / 50 = 200 requests over HTTP per change
const WAIT_MS = 30_000;

let server: LocalServer;
let serverUp = false;
let api: ApiClient;
let writer: string;
let resolver: string;
let client: TrafficManagerClient;
let cacheDir: string;
let cachePath: string;
let poller: TrafficManagerClient;
const clientErrors: Error[] = [];
const pollerErrors: Error[] = [];
/** `<resource> <status>` of every response a client received, e.g. `changes 200`. */
const clientResponses: string[] = [];
const pollerResponses: string[] = [];
/** The seq and ETag of the feed client's last change event. */
let lastChange: { seq: number | undefined; etag: string | undefined } | undefined;
const recordingFetch =
  (into: string[]): typeof fetch =>
  async (input, init) => {
    const response = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    into.push(`${new URL(url).pathname.split('/').at(-1) ?? ''} ${response.status}`);
    return response;
  };

const random = seededRandom(20261201);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

function upstream(service: string, version: string): string {
  return `https://${service}-${run}.example/${version}`;
}

/** A valid route body: 2..5 versions, at least one active or draining (so a pin reveals the revision). */
function randomRouteBody(service: string): { versions: Record<string, Version>; rules: Rule[]; defaultVersion?: string } {
  const names = [...versionPool].sort(() => random() - 0.5).slice(0, 2 + Math.floor(random() * 4));
  const versions: Record<string, Version> = {};
  names.forEach((name, index) => {
    const state: VersionState = index === 0 ? 'active' : pick(['active', 'active', 'active', 'draining', 'disabled']);
    versions[name] = { url: upstream(service, name), weight: pick([0, 1, 5, 10, 50, 90, 100, 1000, 10_000]), state };
  });
  const rules = Array.from({ length: Math.floor(random() * 3) }, () => ({
    header: pick(['x-canary', 'X-Tier']),
    equals: pick(['1', 'gold']),
    version: pick(names),
  }));
  return { versions, rules, ...(random() < 0.6 ? { defaultVersion: pick(names) } : {}) };
}

/** What the server's writes say each route is now (absent: deleted or never created). */
const serverRoutes = new Map<string, Route>();
/** Revisions at which each route had content, for rollbacks. */
const contentRevisions = new Map<string, number[]>();

interface Change {
  service: string;
  what: string;
  /** The route after the change, or undefined when it was deleted. */
  route: Route | undefined;
  revision: number;
}

async function write(method: string, url: string, body?: unknown): Promise<ApiResponse> {
  const response = await api.request(method, url, { authorization: writer, ...(body === undefined ? {} : { body }) });
  if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${response.text}`);
  return response;
}

/** Makes one committed change to a random route and returns what the server says it did. */
async function makeChange(step: number): Promise<Change> {
  const service = step < services.length ? services[step] ?? 'checkout' : pick(services);
  const routeUrl = `/v1/tenants/${tenant}/routes/${service}/prod`;
  const current = serverRoutes.get(service);
  const roll = random();
  let what: string;
  let response: ApiResponse;
  if (current === undefined) {
    what = 'create (PUT)';
    response = await write('PUT', routeUrl, randomRouteBody(service));
  } else if (roll < 0.45) {
    what = 'replace (PUT)';
    response = await write('PUT', routeUrl, randomRouteBody(service));
  } else if (roll < 0.7) {
    const version = pick(Object.keys(current.versions));
    const weight = pick([0, 3, 20, 80, 500, 9999].filter((value) => value !== current.versions[version]?.weight));
    what = `PATCH ${version} weight ${weight}`;
    response = await write('PATCH', `${routeUrl}/versions/${version}`, { weight });
  } else if (roll < 0.82) {
    const version = pick(Object.keys(current.versions));
    const state = pick((['active', 'draining', 'disabled'] as const).filter((value) => value !== current.versions[version]?.state));
    what = `PATCH ${version} state ${state}`;
    response = await write('PATCH', `${routeUrl}/versions/${version}`, { state });
  } else if (roll < 0.92) {
    what = 'delete';
    await write('DELETE', routeUrl);
    const read = await api.request('GET', `${routeUrl}/revisions?limit=1`, { authorization: writer });
    const [latest] = (read.json as { items: { revision: number }[] }).items;
    serverRoutes.delete(service);
    return { service, what, route: undefined, revision: latest?.revision ?? 0 };
  } else {
    const candidates = (contentRevisions.get(service) ?? []).filter((revision) => revision !== current.revision);
    if (candidates.length === 0) {
      what = 'replace (PUT)';
      response = await write('PUT', routeUrl, randomRouteBody(service));
    } else {
      const target = pick(candidates);
      what = `rollback to ${target}`;
      response = await write('POST', `${routeUrl}/rollback`, { revision: target });
    }
  }
  const route = response.json as Route;
  serverRoutes.set(service, route);
  contentRevisions.set(service, [...(contentRevisions.get(service) ?? []), route.revision]);
  return { service, what, route, revision: route.revision };
}

/** Resolves when `check(follower)` holds after a change event (or at once), or fails after WAIT_MS. */
function untilClient(follower: TrafficManagerClient, check: (follower: TrafficManagerClient) => boolean, what: string): Promise<void> {
  if (check(follower)) return Promise.resolve();
  const errors = follower === client ? clientErrors : pollerErrors;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the client did not reach ${what} within ${WAIT_MS} ms; errors: ${errors.map((error) => error.message).join('; ')}`));
    }, WAIT_MS);
    const stop = follower.on('change', () => {
      if (!check(follower)) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

interface Probe {
  key: string;
  version?: string;
  headers: Record<string, string>;
}

/** 10 000 requests: every key, some with a rule header, some pinned (to versions that may not exist). */
const probes: Probe[] = Array.from({ length: KEYS_PER_CHANGE }, (_, index) => {
  const key = index % 13 === 0 ? `ключ-${index}-🚀` : `user-${index}`;
  const headers: Record<string, string> = index % 7 === 0 ? { 'x-canary': '1' } : index % 11 === 0 ? { 'x-tier': 'gold' } : {};
  return index % 97 === 0 ? { key, version: versionPool[index % versionPool.length] ?? 'v1', headers } : { key, headers };
});

type Outcome = { decision: unknown } | { status: number };

function outcomeOf(act: () => unknown): Outcome {
  try {
    return { decision: act() };
  } catch (error) {
    if (error instanceof ResolveError || error instanceof HttpError) return { status: error.status };
    throw error;
  }
}

function clientOutcome(service: string, probe: Probe): Outcome {
  return outcomeOf(() => client.resolve(service, 'prod', probe));
}

function engineOutcome(route: Route | undefined, probe: Probe): Outcome {
  if (route === undefined) return { status: 404 };
  return outcomeOf(() => engineResolve(route, { key: probe.key, version: probe.version, headers: probe.headers }));
}

async function httpOutcome(service: string, probe: Probe): Promise<Outcome> {
  const query = [`key=${encodeURIComponent(probe.key)}`, ...(probe.version === undefined ? [] : [`version=${encodeURIComponent(probe.version)}`])];
  const response = await api.request('GET', `/v1/tenants/${tenant}/resolve/${service}/prod?${query.join('&')}`, {
    authorization: resolver,
    headers: probe.headers,
  });
  return response.status === 200 ? { decision: response.json } : { status: response.status };
}

/** Waits until the resolve endpoint's cache shows `change` (a pin reveals its revision; a deletion is 404). */
async function untilServerResolves(change: Change): Promise<void> {
  const pinned = change.route === undefined ? 'v1' : Object.entries(change.route.versions).find(([, version]) => version.state !== 'disabled')?.[0];
  if (pinned === undefined) throw new Error('the generator made a route with no resolvable version');
  const deadline = Date.now() + WAIT_MS;
  let last: Outcome | undefined;
  while (Date.now() < deadline) {
    last = await httpOutcome(change.service, { key: 'probe', version: pinned, headers: {} });
    const fresh = change.route === undefined ? 'status' in last && last.status === 404 : 'decision' in last && (last.decision as { revision: number }).revision === change.revision;
    if (fresh) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`resolve over HTTP did not show revision ${change.revision} of ${change.service} within ${WAIT_MS} ms: ${JSON.stringify(last)}`);
}

/** Runs `work` over `items`, `width` at a time, and returns the results in order. */
async function inPool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next;
        next += 1;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

function sortedRoutes(routes: Iterable<Route>): Route[] {
  return [...routes].map((route) => ({ ...route, versions: { ...route.versions } })).sort((a, b) => a.service.localeCompare(b.service));
}

beforeAll(async () => {
  server = await startTestApi({ throttle: false });
  serverUp = true;
  api = apiClient(server.url);
  writer = await bearer({ tenant, scope: 'routes:write routes:read' });
  resolver = await bearer({ tenant, scope: 'resolve' });
  cacheDir = await mkdtemp(path.join(tmpdir(), 'tm-client-e2e-'));
  cachePath = path.join(cacheDir, `${tenant}.json`);
  const options = {
    baseUrl: server.url,
    tenant,
    // A fresh token per request, as a data plane with short-lived tokens would do.
    getToken: () => mintLocalToken({ tenant, scope: 'resolve', sub: 'data-plane' }),
    pollIntervalMs: 100,
    backoff: { initialMs: 20, maxMs: 200 },
    requestTimeoutMs: 30_000,
  };
  client = createClient({ ...options, cachePath, fetch: recordingFetch(clientResponses) });
  client.on('error', (error) => clientErrors.push(error));
  client.on('change', ({ seq, etag }) => (lastChange = { seq, etag }));
  poller = createClient({ ...options, follow: 'snapshot', fetch: recordingFetch(pollerResponses) });
  poller.on('error', (error) => pollerErrors.push(error));
  await Promise.all([client.start(), poller.start()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([client.close(), poller.close()]);
  if (serverUp) await server.close();
  await rm(cacheDir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(previousEnv)) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
});

describe('the client following a running local stack', () => {
  it('starts with the tenant empty, then follows 50 changes and answers as the server does after each', async () => {
    expect(client.routes()).toEqual([]);
    const done: string[] = [];
    for (let step = 0; step < CHANGES; step += 1) {
      const change = await makeChange(step);
      done.push(`${change.service}: ${change.what} -> ${change.revision}`);
      const holdsChange = (follower: TrafficManagerClient): boolean =>
        change.route === undefined ? follower.route(change.service, 'prod') === undefined : follower.route(change.service, 'prod')?.revision === change.revision;
      await untilClient(client, holdsChange, `step ${step} (${done.at(-1) ?? ''})`);
      await untilClient(poller, holdsChange, `step ${step} (${done.at(-1) ?? ''}), polling the snapshot`);
      // Both clients hold exactly what the server's writes returned, for every route.
      expect(sortedRoutes(client.routes())).toEqual(sortedRoutes(serverRoutes.values()));
      expect(sortedRoutes(poller.routes())).toEqual(sortedRoutes(serverRoutes.values()));

      // 10 000 requests against the engine on the server's current route.
      const mismatches = probes
        .map((probe) => ({ probe, client: clientOutcome(change.service, probe), server: engineOutcome(change.route, probe) }))
        .filter(({ client: local, server: remote }) => JSON.stringify(local) !== JSON.stringify(remote));
      expect({ step, change: done.at(-1), mismatches: mismatches.slice(0, 3), count: mismatches.length }).toEqual({
        step,
        change: done.at(-1),
        mismatches: [],
        count: 0,
      });

      // 200 of them over real HTTP.
      await untilServerResolves(change);
      const sample = probes.filter((_, index) => index % HTTP_SAMPLE_EVERY === 0);
      const remote = await inPool(sample, 8, (probe) => httpOutcome(change.service, probe));
      const differing = sample
        .map((probe, index) => ({ probe, client: clientOutcome(change.service, probe), http: remote[index] }))
        .filter(({ client: local, http }) => JSON.stringify(local) !== JSON.stringify(http));
      expect({ step, differing: differing.slice(0, 3) }).toEqual({ step, differing: [] });
    }
    // The feed client loaded the snapshot once and took every change from the feed, never
    // falling back; it holds the seq and ETag a fresh snapshot carries.
    expect(clientResponses.filter((response) => response.startsWith('snapshot'))).toEqual(['snapshot 200']);
    expect(clientResponses.filter((response) => response !== 'changes 200' && response !== 'snapshot 200')).toEqual([]);
    expect(clientResponses.length).toBeGreaterThan(CHANGES);
    expect(clientErrors).toEqual([]);
    const snapshot = await api.request('GET', `/v1/tenants/${tenant}/snapshot`, { authorization: resolver });
    expect(lastChange).toEqual({ seq: (snapshot.json as { seq: number }).seq, etag: snapshot.headers.get('etag') });
    // The poller polled with If-None-Match: most polls found nothing new (304); every change was a 200.
    expect(pollerResponses.filter((response) => response === 'snapshot 304').length).toBeGreaterThan(0);
    expect(pollerResponses.filter((response) => response !== 'snapshot 200' && response !== 'snapshot 304')).toEqual([]);
    // The generator made every kind of change at least once.
    expect(done.join('\n')).toMatch(/create/);
    expect(done.join('\n')).toMatch(/replace/);
    expect(done.join('\n')).toMatch(/weight/);
    expect(done.join('\n')).toMatch(/state/);
    expect(done.join('\n')).toMatch(/delete/);
    expect(done.join('\n')).toMatch(/rollback/);
  }, 600_000);

  it('keeps answering from the last good state when the API stops, while staleness grows; a new client starts from the disk cache', async () => {
    const before = probes.map((probe) => services.map((service) => clientOutcome(service, probe)));
    await server.close();
    serverUp = false;
    const failuresBefore = clientErrors.length;
    const failures = (count: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fewer than ${count} failed polls within ${WAIT_MS} ms`)), WAIT_MS);
        const stop = client.on('error', () => {
          if (clientErrors.length - failuresBefore < count) return;
          clearTimeout(timer);
          stop();
          resolve();
        });
      });
    await failures(1);
    const early = client.staleness();
    await failures(3);
    expect(client.staleness()).toBeGreaterThan(early);
    expect(clientErrors.at(-1)?.message).toMatch(/fetch failed/);
    expect(probes.map((probe) => services.map((service) => clientOutcome(service, probe)))).toEqual(before);

    const restarted = createClient({
      baseUrl: server.url,
      tenant,
      getToken: () => mintLocalToken({ tenant, scope: 'resolve' }),
      cachePath,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    try {
      await restarted.start();
      expect(Number.isFinite(restarted.staleness())).toBe(true);
      expect(sortedRoutes(restarted.routes())).toEqual(sortedRoutes(client.routes()));
      const keyed = probes.map((probe) => services.map((service) => outcomeOf(() => restarted.resolve(service, 'prod', probe))));
      expect(keyed).toEqual(before);
    } finally {
      await restarted.close();
    }
  });
});
