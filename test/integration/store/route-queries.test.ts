import { ValidationError } from '#shared/errors/http-errors';
import type { FeedChange, Revision, Route } from '#shared/domain/route.schema';
import {
  getRoute,
  listAudit,
  listChanges,
  listRevisions,
  listRoutes,
  readSequence,
  snapshot,
  type Page,
  type PageOptions,
  type RouteKey,
  type Snapshot,
} from '#shared/store/route.store';
import { readSnapshot } from '#shared/use-cases/routes';
import { addVersion, commit, deleteIt, putVersions, routeKey, uniqueTenant, version } from './helpers.ts';

function put(key: RouteKey, versions: Record<string, ReturnType<typeof version>>) {
  return commit(key, putVersions(versions));
}

/** Reads every page with `limit`, checking each page's size; returns the items in order. */
async function readAll<T>(read: (options: PageOptions) => Promise<Page<T>>, limit: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await read({ limit, ...(cursor === undefined ? {} : { cursor }) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    if (page.nextCursor === null) return items;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

const names = (routes: Route[]) => routes.map((route) => `${route.service}/${route.env}`);

describe('route listings', () => {
  const tenant = uniqueTenant();
  const services = ['alpha', 'beta', 'gamma'];
  const envs = ['dev', 'prod', 'stage'];
  const all = services.flatMap((service) => envs.map((env) => `${service}/${env}`));

  beforeAll(async () => {
    for (const name of all) {
      const [service = '', env = ''] = name.split('/');
      await put(routeKey(tenant, service, env), { v1: version('v1') });
    }
    // A deleted route is not listed.
    const gone = routeKey(tenant, 'beta', 'gone');
    await put(gone, { v1: version('v1') });
    await commit(gone, deleteIt());
    // Nor is another tenant's route.
    await put(routeKey(uniqueTenant(), 'beta', 'dev'), { v1: version('v1') });
  });

  it.each([1, 2, 4, 9, 50, 100])('lists every route of the tenant exactly once with limit %i', async (limit) => {
    const routes = await readAll((options) => listRoutes(tenant, options), limit);
    expect(names(routes)).toEqual(all);
    expect(routes.every((route) => route.tenant === tenant && route.revision === 1)).toBe(true);
  });

  it.each([1, 2, 3, 100])('lists the routes of one service with limit %i', async (limit) => {
    const routes = await readAll((options) => listRoutes(tenant, { ...options, service: 'beta' }), limit);
    expect(names(routes)).toEqual(['beta/dev', 'beta/prod', 'beta/stage']);
  });

  it('lists nothing for a tenant without routes', async () => {
    expect(await listRoutes(uniqueTenant(), { limit: 50 })).toEqual({ items: [], nextCursor: null });
  });

  it('refuses with 400 a tampered cursor, another tenant’s cursor and another listing’s cursor', async () => {
    const first = await listRoutes(tenant, { limit: 1 });
    const cursor = first.nextCursor;
    if (cursor === null) throw new Error('expected a next page');

    const otherTenant = uniqueTenant();
    await put(routeKey(otherTenant, 'alpha', 'dev'), { v1: version('v1') });
    await put(routeKey(otherTenant, 'alpha', 'prod'), { v1: version('v1') });
    const foreign = (await listRoutes(otherTenant, { limit: 1 })).nextCursor;
    if (foreign === null) throw new Error('expected a next page');

    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}${cursor.slice(-1)}`;
    const forge = (key: Record<string, string>): string =>
      Buffer.from(JSON.stringify({ s: `T#${tenant}#TENANT`, k: key })).toString('base64url');
    const forged = forge({ PK: `T#${otherTenant}#TENANT`, SK: 'R#alpha#dev' });
    // The tenant's own partition, but outside the routes (the sequence item sorts before them).
    const outside = forge({ PK: `T#${tenant}#TENANT`, SK: '#SEQ' });
    const alphaCursor = (await listRoutes(tenant, { limit: 1, service: 'alpha' })).nextCursor ?? '';

    await expect(listRoutes(tenant, { limit: 1, cursor: tampered })).rejects.toBeInstanceOf(ValidationError);
    await expect(listRoutes(tenant, { limit: 1, cursor: 'not a cursor' })).rejects.toMatchObject({ status: 400 });
    await expect(listRoutes(tenant, { limit: 1, cursor: foreign })).rejects.toMatchObject({ status: 400 });
    await expect(listRoutes(tenant, { limit: 1, cursor: forged })).rejects.toMatchObject({ status: 400 });
    await expect(listRoutes(tenant, { limit: 1, cursor: outside })).rejects.toMatchObject({ status: 400 });
    await expect(listRoutes(tenant, { limit: 1, cursor: alphaCursor, service: 'gamma' })).rejects.toMatchObject({
      status: 400,
    });
    await expect(listAudit(tenant, { limit: 1, cursor })).rejects.toMatchObject({ status: 400 });
    await expect(listRevisions(routeKey(tenant, 'alpha', 'dev'), { limit: 1, cursor })).rejects.toMatchObject({
      status: 400,
    });
  });
});

describe('revision history', () => {
  const key = routeKey(uniqueTenant());

  beforeAll(async () => {
    for (let i = 1; i <= 7; i += 1) {
      await commit(key, addVersion(`v${i}`), { requestId: `req-${i}` });
    }
  });

  it.each([1, 2, 3, 7, 100])('pages through every revision newest first with limit %i', async (limit) => {
    const revisions = await readAll((options) => listRevisions(key, options), limit);
    expect(revisions.map((revision) => revision.revision)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(revisions[0]).toMatchObject({ kind: 'version.put', requestId: 'req-7', seq: 7, route: { revision: 7 } });
  });

  it('refuses another route’s cursor', async () => {
    const cursor = (await listRevisions(key, { limit: 1 })).nextCursor ?? '';
    const other = routeKey(key.tenant, 'other', 'prod');
    await expect(listRevisions(other, { limit: 1, cursor })).rejects.toMatchObject({ status: 400 });
  });
});

describe('audit', () => {
  it('lists every change of the tenant newest first, across routes', async () => {
    const tenant = uniqueTenant();
    const a = routeKey(tenant, 'alpha', 'prod');
    const b = routeKey(tenant, 'beta', 'prod');
    const steps: [RouteKey, number][] = [];
    for (const [key, versions] of [
      [a, { v1: version('v1') }],
      [b, { v1: version('v1') }],
      [a, { v2: version('v2') }],
      [b, { v2: version('v2') }],
      [b, { v3: version('v3') }],
    ] as const) {
      const result = await put(key, versions);
      steps.push([key, result.route?.revision ?? 0]);
    }
    await commit(a, deleteIt(), { actor: 'remover' });
    steps.push([a, 3]);

    for (const limit of [1, 4, 100]) {
      const audit = await readAll<Revision>((options) => listAudit(tenant, options), limit);
      expect(audit.map((entry) => `${entry.service}#${entry.revision}`)).toEqual(
        steps.map(([key, revision]) => `${key.service}#${revision}`).reverse(),
      );
      expect(audit[0]).toMatchObject({ kind: 'route.delete', actor: 'remover', route: null });
      // Newest first is by the tenant's sequence, not by time.
      expect(audit.map((entry) => entry.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    }
    expect((await listAudit(uniqueTenant(), { limit: 10 })).items).toEqual([]);
  });
});

describe('snapshot', () => {
  const etagOf = async (tenant: string): Promise<string> => (await readSnapshot(tenant, () => false)).etag;

  it('returns every live route and the sequence, with an ETag that changes exactly when a route changes', async () => {
    const tenant = uniqueTenant();
    const a = routeKey(tenant, 'alpha', 'prod');
    const b = routeKey(tenant, 'beta', 'prod');
    const seen = new Set<string>();

    expect(await snapshot(tenant)).toEqual({ routes: [], seq: 0 });
    const empty = await etagOf(tenant);
    seen.add(empty);
    expect(empty).toMatch(/^"[\w-]+"$/);

    await put(a, { v1: version('v1') });
    const one = await etagOf(tenant);
    await put(b, { v1: version('v1') });
    const two = await etagOf(tenant);
    expect(await etagOf(tenant)).toBe(two); // nothing changed, same tag

    await put(b, { v1: version('v1') }); // a no-op write commits nothing
    expect(await etagOf(tenant)).toBe(two);
    expect((await snapshot(tenant)).seq).toBe(2);

    await put(b, { v2: version('v2') });
    const updated = await etagOf(tenant);
    await commit(a, deleteIt());
    const deleted = await etagOf(tenant);
    expect(names((await snapshot(tenant)).routes)).toEqual(['beta/prod']);
    await put(a, { v1: version('v1') });
    const recreated = await etagOf(tenant);

    for (const tag of [one, two, updated, deleted, recreated]) {
      expect(seen.has(tag)).toBe(false);
      seen.add(tag);
    }
    const taken = await snapshot(tenant);
    expect(taken.seq).toBe(5);
    expect(taken.seq).toBe(await readSequence(tenant, { consistent: true }));
    expect(taken.routes.map((route) => `${route.service}@${route.revision}`)).toEqual(['alpha@3', 'beta@2']);
    expect(taken.routes).toEqual([await getRoute(a, { consistent: true }), await getRoute(b, { consistent: true })]);
    // Another tenant's changes are not in it.
    await put(routeKey(uniqueTenant(), 'alpha', 'prod'), { v9: version('v9') });
    expect(await snapshot(tenant)).toEqual(taken);
  });

  it('answers not modified to a caller that holds the current sequence, and the snapshot to one that does not', async () => {
    const tenant = uniqueTenant();
    await put(routeKey(tenant, 'alpha', 'prod'), { v1: version('v1') });
    const current = await readSnapshot(tenant, () => false);
    if (current.notModified) throw new Error('expected a snapshot');
    expect(current.snapshot).toEqual(await snapshot(tenant));
    expect(await readSnapshot(tenant, (etag) => etag === current.etag)).toEqual({ notModified: true, etag: current.etag });

    await put(routeKey(tenant, 'beta', 'prod'), { v1: version('v1') });
    const next = await readSnapshot(tenant, (etag) => etag === current.etag);
    expect(next.notModified).toBe(false);
    if (next.notModified) throw new Error('expected a snapshot');
    expect(next.snapshot.seq).toBe(2);
    expect(names(next.snapshot.routes)).toEqual(['alpha/prod', 'beta/prod']);
  });

  it('is consistent with its sequence while writers commit: every route at least as new as it says, none missing', async () => {
    const tenant = uniqueTenant();
    const keys = Array.from({ length: 4 }, (_, i) => routeKey(tenant, `svc${i}`, 'prod'));
    for (const key of keys) await put(key, { v1: version('v1') });

    const snapshots: Snapshot[] = [];
    const writers = keys.map(async (key, i) => {
      for (let step = 0; step < 4; step += 1) {
        if ((i + step) % 3 === 2) await commit(key, deleteIt()).catch(() => undefined);
        else await commit(key, addVersion(`w${step}`));
      }
    });
    const reader = (async () => {
      for (let n = 0; n < 6; n += 1) snapshots.push(await snapshot(tenant));
    })();
    await Promise.all([...writers, reader]);
    snapshots.push(await snapshot(tenant));

    const feed = (await listChanges(tenant, { after: 0, limit: 1000 })).items;
    expect(feed.map((entry) => entry.seq)).toEqual(Array.from({ length: feed.length }, (_, i) => i + 1));
    for (const taken of snapshots) checkSnapshot(taken, feed);
    // The last one was taken with no writer running: exactly the state at its sequence.
    const last = snapshots.at(-1);
    expect(last?.seq).toBe(feed.length);
    expect(last?.routes).toEqual(stateAt(feed, feed.length).filter((route): route is Route => route !== null));
  });
});

/** Each route's content at sequence `seq`, by service (null: deleted), from the change feed. */
function stateAt(feed: FeedChange[], seq: number): (Route | null)[] {
  const state = new Map<string, Route | null>();
  for (const entry of feed) if (entry.seq <= seq) state.set(`${entry.service}#${entry.env}`, entry.route);
  return [...state.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, route]) => route);
}

/**
 * A snapshot at `seq` is at least as new as `seq`: it holds, for each route live at `seq`,
 * that route or a newer revision of it, or lacks it only because a later change deleted
 * it; a route deleted (or absent) at `seq` only if a later change created it again; each
 * route once, in order; and nothing that is not in the feed.
 */
function checkSnapshot(taken: Snapshot, feed: FeedChange[]): void {
  const keys = taken.routes.map((route) => `${route.service}#${route.env}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect([...keys].sort()).toEqual(keys);
  const atSeq = new Map<string, FeedChange>();
  for (const entry of feed) if (entry.seq <= taken.seq) atSeq.set(`${entry.service}#${entry.env}`, entry);
  for (const [name, entry] of atSeq) {
    const inSnapshot = taken.routes.find((route) => `${route.service}#${route.env}` === name);
    if (entry.route !== null && inSnapshot === undefined) {
      const deletedLater = feed.some((later) => later.seq > taken.seq && `${later.service}#${later.env}` === name && later.route === null);
      expect(deletedLater).toBe(true);
    } else if (entry.route !== null) {
      expect(inSnapshot?.revision ?? 0).toBeGreaterThanOrEqual(entry.revision);
    } else if (inSnapshot !== undefined) {
      expect(inSnapshot.revision).toBeGreaterThan(entry.revision);
    }
  }
  for (const route of taken.routes) {
    const change = feed.find((entry) => entry.service === route.service && entry.env === route.env && entry.revision === route.revision);
    expect(change?.route).toEqual(route);
  }
}
