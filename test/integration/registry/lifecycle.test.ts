/**
 * The whole life of a route through the real handlers (middleware chain, auth, validation,
 * use cases, store) against the emulator, as API.md describes it.
 */
import type { Revision, Route } from '#shared/domain/route.schema';
import { registry, revisionNumbers, twoVersionBody, uniqueTenant, version } from './registry-client.ts';

function content(route: Route | null | undefined) {
  if (route === null || route === undefined) return route;
  const { versions, rules, defaultVersion } = route;
  return { versions, rules, defaultVersion };
}

describe('route lifecycle', () => {
  it('creates, reads, replaces, edits versions, rolls back, deletes and re-creates a route', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);

    // PUT: created.
    const created = await api.putRoute(twoVersionBody(), { sub: 'alice' });
    expect(created.status).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.headers['content-type']).toBe('application/json');
    expect(created.headers['x-request-id']).toEqual(expect.any(String));
    expect(created.body).toMatchObject({
      tenant,
      service: 'checkout',
      env: 'prod',
      ...twoVersionBody(),
      revision: 1,
      updatedBy: 'alice',
    });
    expect(created.body.createdAt).toBe(created.body.updatedAt);

    // GET: the same route and its ETag.
    const read = await api.getRoute();
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe('"1"');
    expect(read.body).toEqual(created.body);

    // PUT the same content: 200, nothing committed.
    const same = await api.putRoute(twoVersionBody());
    expect(same.status).toBe(200);
    expect(same.headers.etag).toBe('"1"');
    expect(same.body).toEqual(created.body);
    expect(await revisionNumbers(api)).toEqual([1]);

    // Version PUT: new (201), then existing (200).
    const v3 = await api.putVersion('v3', { url: 'https://v3.checkout.example.com' }, { sub: 'bob' });
    expect(v3.status).toBe(201);
    expect(v3.headers.etag).toBe('"2"');
    expect(v3.body.versions.v3).toEqual({ url: 'https://v3.checkout.example.com', weight: 0, state: 'active' });
    expect(v3.body).toMatchObject({ revision: 2, updatedBy: 'bob', defaultVersion: 'v1' });
    const v3Again = await api.putVersion('v3', version('v3', 5));
    expect(v3Again.status).toBe(200);
    expect(v3Again.headers.etag).toBe('"3"');
    expect(v3Again.body.versions.v3).toEqual(version('v3', 5));

    // PATCH one field, under If-Match.
    const patched = await api.patchVersion('v2', { weight: 20 }, { headers: { 'If-Match': '"3"' } });
    expect(patched.status).toBe(200);
    expect(patched.headers.etag).toBe('"4"');
    expect(patched.body.versions.v2).toEqual(version('v2', 20));
    expect(patched.body.versions.v1).toEqual(version('v1', 90));

    // DELETE a version.
    const removed = await api.deleteVersion('v3');
    expect(removed.status).toBe(200);
    expect(removed.headers.etag).toBe('"5"');
    expect(Object.keys(removed.body.versions).sort()).toEqual(['v1', 'v2']);

    // Revisions: newest first, each one as it was.
    const revisions = await api.listRevisions();
    expect(revisions.status).toBe(200);
    expect(revisions.body.items.map((revision) => [revision.revision, revision.kind])).toEqual([
      [5, 'version.delete'],
      [4, 'version.patch'],
      [3, 'version.put'],
      [2, 'version.put'],
      [1, 'route.put'],
    ]);
    expect(revisions.body.nextCursor).toBeNull();
    const revision2 = await api.getRevision(2);
    expect(revision2.status).toBe(200);
    expect(revision2.body).toMatchObject({ tenant, service: 'checkout', env: 'prod', revision: 2, actor: 'bob' });
    expect(revision2.body.route).toEqual(v3.body);
    expect(revision2.body.requestId).toEqual(v3.headers['x-request-id']);
    // The time of the change is the route's own updatedAt, stamped in the same write.
    expect(revision2.body.occurredAt).toBe(v3.body.updatedAt);

    // Rollback to 1: a new revision whose content equals revision 1.
    const rolledBack = await api.rollback({ revision: 1 }, { sub: 'carol' });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.headers.etag).toBe('"6"');
    expect(rolledBack.body).toMatchObject({ revision: 6, updatedBy: 'carol', createdAt: created.body.createdAt });
    expect(content(rolledBack.body)).toEqual(content(created.body));
    expect((await api.getRevision(6)).body).toMatchObject({ kind: 'rollback', actor: 'carol' });
    expect(await revisionNumbers(api)).toEqual([6, 5, 4, 3, 2, 1]);
    // Rolling back to what the route already is commits nothing.
    const again = await api.rollback({ revision: 1 });
    expect(again.status).toBe(200);
    expect(again.headers.etag).toBe('"6"');
    expect(await revisionNumbers(api)).toEqual([6, 5, 4, 3, 2, 1]);

    // DELETE the route: 204, then 404, history kept.
    const deleted = await api.deleteRoute({ sub: 'dave' });
    expect(deleted.status).toBe(204);
    expect(deleted.raw.body).toBe('');
    const gone = await api.getRoute();
    expect(gone.status).toBe(404);
    expect(gone.headers['content-type']).toBe('application/problem+json');
    expect(await revisionNumbers(api)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect((await api.getRevision(7)).body).toMatchObject({ revision: 7, kind: 'route.delete', actor: 'dave', route: null });
    expect((await api.getRevision(1)).body.route).toEqual(created.body);
    expect((await api.deleteRoute()).status).toBe(404);

    // Re-create: the revision count continues.
    const recreated = await api.putRoute({ versions: { blue: version('blue') }, defaultVersion: 'blue' });
    expect(recreated.status).toBe(201);
    expect(recreated.headers.etag).toBe('"8"');
    expect(recreated.body.revision).toBe(8);
    expect(recreated.body.createdAt).not.toBe(created.body.createdAt);
    expect((await api.getRoute()).headers.etag).toBe('"8"');
    expect(await revisionNumbers(api)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('creates the route on a version PUT, with that version as defaultVersion', async () => {
    const api = registry(uniqueTenant());

    const response = await api.putVersion('blue', { url: 'https://blue.checkout.example.com', weight: 100 }, {}, 'cart', 'staging');

    expect(response.status).toBe(201);
    expect(response.headers.etag).toBe('"1"');
    expect(response.body).toMatchObject({
      service: 'cart',
      env: 'staging',
      versions: { blue: { url: 'https://blue.checkout.example.com', weight: 100, state: 'active' } },
      defaultVersion: 'blue',
      rules: [],
      revision: 1,
    });
    expect((await api.getRoute({}, 'cart', 'staging')).body).toEqual(response.body);
    expect((await api.getRevision(1, {}, 'cart', 'staging')).body.kind).toBe('version.put');
  });

  it('creates a deleted route again through a version PUT, continuing the revision count', async () => {
    const api = registry(uniqueTenant());
    await api.putRoute(twoVersionBody());
    expect((await api.deleteRoute()).status).toBe(204);

    const response = await api.putVersion('green', { url: 'https://green.checkout.example.com' });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ revision: 3, defaultVersion: 'green', versions: { green: expect.any(Object) } });
    expect(Object.keys(response.body.versions)).toEqual(['green']);
  });

  it('answers no-op version writes with 200 and commits nothing', async () => {
    const api = registry(uniqueTenant());
    await api.putRoute(twoVersionBody());

    const samePut = await api.putVersion('v2', version('v2', 10));
    const samePatch = await api.patchVersion('v1', { weight: 90 });

    expect([samePut.status, samePatch.status]).toEqual([200, 200]);
    expect([samePut.headers.etag, samePatch.headers.etag]).toEqual(['"1"', '"1"']);
    expect(await revisionNumbers(api)).toEqual([1]);
  });

  it('serves a snapshot with an ETag, 304 on If-None-Match, and a new ETag after a write', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    await api.putVersion('blue', { url: 'https://blue.example.com' }, {}, 'cart', 'prod');

    const first = await api.snapshot();
    expect(first.status).toBe(200);
    expect(first.headers.etag).toMatch(/^"[^"]+"$/);
    expect(first.body.tenant).toBe(tenant);
    expect(first.body.routes.map((route) => `${route.service}/${route.env}@${route.revision}`).sort()).toEqual([
      'cart/prod@1',
      'checkout/prod@1',
    ]);

    const notModified = await api.snapshot({ headers: { 'If-None-Match': first.headers.etag ?? '' } });
    expect(notModified.status).toBe(304);
    expect(notModified.raw.body).toBe('');
    expect(notModified.headers.etag).toBe(first.headers.etag);
    expect(notModified.headers['x-request-id']).toEqual(expect.any(String));

    const patched = await api.patchVersion('v2', { weight: 20 });
    expect(patched.status).toBe(200);

    const changed = await api.snapshot({ headers: { 'If-None-Match': first.headers.etag ?? '' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(first.headers.etag);
    expect(changed.body.routes.find((route) => route.service === 'checkout')?.versions.v2?.weight).toBe(20);

    expect((await api.deleteRoute({}, 'cart', 'prod')).status).toBe(204);
    const afterDelete = await api.snapshot({ headers: { 'If-None-Match': changed.headers.etag ?? '' } });
    expect(afterDelete.status).toBe(200);
    expect(afterDelete.body.routes.map((route) => route.service)).toEqual(['checkout']);
  });

  it('lists the audit trail of a tenant newest first, across routes', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    const other = registry(uniqueTenant());
    await other.putRoute(twoVersionBody());

    await api.putRoute(twoVersionBody(), { sub: 'alice' });
    await api.putVersion('blue', { url: 'https://blue.example.com' }, { sub: 'bob' }, 'cart', 'prod');
    await api.patchVersion('v2', { weight: 30 }, { sub: 'carol' });
    await api.deleteRoute({ sub: 'dave' }, 'cart', 'prod');

    const audit = await api.audit();

    expect(audit.status).toBe(200);
    expect(audit.body.items.map((entry: Revision) => [entry.service, entry.revision, entry.kind, entry.actor])).toEqual([
      ['cart', 2, 'route.delete', 'dave'],
      ['checkout', 2, 'version.patch', 'carol'],
      ['cart', 1, 'version.put', 'bob'],
      ['checkout', 1, 'route.put', 'alice'],
    ]);
    expect(audit.body.items.every((entry) => entry.tenant === tenant)).toBe(true);

    const firstPage = await api.audit({ query: { limit: '3' } });
    expect(firstPage.body.items).toHaveLength(3);
    expect(firstPage.body.nextCursor).toEqual(expect.any(String));
    const secondPage = await api.audit({ query: { limit: '3', cursor: firstPage.body.nextCursor ?? '' } });
    expect(secondPage.body.items.map((entry) => [entry.service, entry.revision])).toEqual([['checkout', 1]]);
    expect(secondPage.body.nextCursor).toBeNull();
  });

  it('lists routes, paginated and by service', async () => {
    const api = registry(uniqueTenant());
    await api.putRoute(twoVersionBody(), {}, 'checkout', 'prod');
    await api.putRoute(twoVersionBody(), {}, 'checkout', 'staging');
    await api.putRoute(twoVersionBody(), {}, 'cart', 'prod');

    const all = await api.listRoutes();
    const checkout = await api.listRoutes({ query: { service: 'checkout', limit: '1' } });
    const next = await api.listRoutes({ query: { service: 'checkout', limit: '1', cursor: checkout.body.nextCursor ?? '' } });

    expect(all.status).toBe(200);
    expect(all.body.items.map((route) => `${route.service}/${route.env}`)).toEqual([
      'cart/prod',
      'checkout/prod',
      'checkout/staging',
    ]);
    expect(checkout.body.items.map((route) => route.env)).toEqual(['prod']);
    expect(next.body.items.map((route) => route.env)).toEqual(['staging']);
  });
});
