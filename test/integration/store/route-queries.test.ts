import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '#shared/errors/http-errors';
import type { Revision, Route } from '#shared/domain/route.schema';
import {
  listAudit,
  listRevisions,
  listRoutes,
  snapshot,
  type Page,
  type PageOptions,
  type RouteKey,
} from '#shared/store/route.store';
import { writeRoute } from '#shared/store/write-route';
import { addVersion, deleteIt, putVersions, routeKey, uniqueTenant, version } from './helpers.ts';

function put(key: RouteKey, versions: Record<string, ReturnType<typeof version>>) {
  return writeRoute({ key, apply: putVersions(key, versions), kind: 'route.put', actor: 'tester', requestId: 'req' });
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
    await writeRoute({ key: gone, apply: deleteIt, kind: 'route.delete', actor: 'tester', requestId: 'req' });
  });

  it.each([1, 2, 4, 9, 50, 100])('lists every route of the tenant exactly once with limit %i', async (limit) => {
    const routes = await readAll((options) => listRoutes(tenant, options), limit);
    expect(names(routes)).toEqual(all);
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
    const forged = Buffer.from(
      JSON.stringify({ s: `T#${tenant}#ROUTES`, k: { PK: `T#${otherTenant}#R#alpha#dev`, SK: 'ROUTE', GSI1PK: `T#${otherTenant}#ROUTES`, GSI1SK: 'alpha#dev' } }),
    ).toString('base64url');
    const alphaCursor = (await listRoutes(tenant, { limit: 1, service: 'alpha' })).nextCursor ?? '';

    await expect(listRoutes(tenant, { limit: 1, cursor: tampered })).rejects.toBeInstanceOf(ValidationError);
    await expect(listRoutes(tenant, { limit: 1, cursor: 'not a cursor' })).rejects.toMatchObject({ status: 400 });
    await expect(listRoutes(tenant, { limit: 1, cursor: foreign })).rejects.toMatchObject({ status: 400 });
    await expect(listRoutes(tenant, { limit: 1, cursor: forged })).rejects.toMatchObject({ status: 400 });
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
      await writeRoute({ key, apply: addVersion(key, `v${i}`), kind: 'version.put', actor: 'tester', requestId: `req-${i}` });
    }
  });

  it.each([1, 2, 3, 7, 100])('pages through every revision newest first with limit %i', async (limit) => {
    const revisions = await readAll((options) => listRevisions(key, options), limit);
    expect(revisions.map((revision) => revision.revision)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(revisions[0]).toMatchObject({ kind: 'version.put', requestId: 'req-7', route: { revision: 7 } });
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
      steps.push([key, result.revision]);
      await sleep(3); // distinct timestamps: the audit orders by time
    }
    await writeRoute({ key: a, apply: deleteIt, kind: 'route.delete', actor: 'remover', requestId: 'req-del' });
    steps.push([a, 3]);

    for (const limit of [1, 4, 100]) {
      const audit = await readAll<Revision>((options) => listAudit(tenant, options), limit);
      expect(audit.map((entry) => `${entry.service}#${entry.revision}`)).toEqual(
        steps.map(([key, revision]) => `${key.service}#${revision}`).reverse(),
      );
      expect(audit[0]).toMatchObject({ kind: 'route.delete', actor: 'remover', route: null });
    }
    expect((await listAudit(uniqueTenant(), { limit: 10 })).items).toEqual([]);
  });
});

describe('snapshot', () => {
  it('returns every live route, with an ETag that changes exactly when a route changes', async () => {
    const tenant = uniqueTenant();
    const a = routeKey(tenant, 'alpha', 'prod');
    const b = routeKey(tenant, 'beta', 'prod');
    const seen = new Set<string>();
    const take = async (): Promise<string> => (await snapshot(tenant)).etag;

    const empty = await take();
    seen.add(empty);
    expect(empty).toMatch(/^"[\w-]+"$/);

    await put(a, { v1: version('v1') });
    const one = await take();
    await put(b, { v1: version('v1') });
    const two = await take();
    expect(await take()).toBe(two); // nothing changed, same tag

    await put(b, { v1: version('v1') }); // a no-op write commits nothing
    expect(await take()).toBe(two);

    await put(b, { v2: version('v2') });
    const updated = await take();
    await writeRoute({ key: a, apply: deleteIt, kind: 'route.delete', actor: 'tester', requestId: 'req' });
    const deleted = await take();
    await put(a, { v1: version('v1') });
    const recreated = await take();

    for (const tag of [one, two, updated, deleted, recreated]) {
      expect(seen.has(tag)).toBe(false);
      seen.add(tag);
    }
    const { routes } = await snapshot(tenant);
    expect(routes.map((route) => `${route.service}@${route.revision}`)).toEqual(['alpha@3', 'beta@2']);
  });
});
