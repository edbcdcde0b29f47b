/**
 * Every 4xx of API.md through the real handlers: each refusal is an RFC 9457 problem
 * (`application/problem+json` with type, title, status, detail; `errors[]` for 400) and
 * changes nothing: the route reads the same and no revision or audit entry was added.
 */
import { randomUUID } from 'node:crypto';
import { bearer } from '#test/support/auth-tokens';
import {
  expectProblem,
  registry,
  twoVersionBody,
  uniqueTenant,
  version,
  type Registry,
  type Response,
} from './registry-client.ts';

interface Before {
  api: Registry;
  tenant: string;
  route: unknown;
  etag: string | undefined;
  revisions: number[];
  audit: number;
}

async function auditCount(api: Registry): Promise<number> {
  const response = await api.audit({ query: { limit: '100' } });
  expect(response.status).toBe(200);
  return response.body.items.length;
}

async function revisions(api: Registry): Promise<number[]> {
  const response = await api.listRevisions({ query: { limit: '100' } });
  expect(response.status).toBe(200);
  return response.body.items.map((item) => item.revision);
}

/**
 * A tenant with checkout/prod at revision 2 (v1 90 default, v2 10 with a canary rule, then
 * v3 added), and what it looks like before the refused request.
 */
async function arrange(): Promise<Before> {
  const tenant = uniqueTenant();
  const api = registry(tenant);
  expect((await api.putRoute(twoVersionBody())).status).toBe(201);
  expect((await api.putVersion('v3', version('v3', 0))).status).toBe(201);
  const read = await api.getRoute();
  expect(read.status).toBe(200);
  return { api, tenant, route: read.body, etag: read.headers.etag, revisions: await revisions(api), audit: await auditCount(api) };
}

/** Nothing was written: same route, same ETag, same history, same audit trail. */
async function expectNothingWritten(before: Before): Promise<void> {
  const read = await before.api.getRoute();
  expect(read.status).toBe(200);
  expect(read.body).toEqual(before.route);
  expect(read.headers.etag).toBe(before.etag);
  expect(await revisions(before.api)).toEqual(before.revisions);
  expect(await auditCount(before.api)).toBe(before.audit);
}

type Request = (api: Registry, tenant: string) => Promise<Response<unknown>>;

/** The paths named by a 400's errors. */
function paths(response: Response<unknown>): string[] {
  return (expectProblem(response, 400).errors ?? []).map((error) => error.path);
}

describe('400: invalid path parameters', () => {
  const cases: [string, Request, string][] = [
    ['a service with capitals', (api) => api.getRoute({}, 'Checkout', 'prod'), 'path.service'],
    ['an env starting with a dash', (api) => api.putRoute(twoVersionBody(), {}, 'checkout', '-prod'), 'path.env'],
    ['a service over 63 characters', (api) => api.deleteRoute({}, 'a'.repeat(64), 'prod'), 'path.service'],
    ['a version with a slash-like character', (api) => api.putVersion('v:1', version('v1')), 'path.version'],
    ['a version starting with a dot', (api) => api.deleteVersion('.v1'), 'path.version'],
    ['a revision that is not a number', (api) => api.getRevision('abc'), 'path.revision'],
    ['revision 0', (api) => api.getRevision(0), 'path.revision'],
    ['a fractional revision', (api) => api.getRevision('1.5'), 'path.revision'],
  ];

  it.each(cases)('refuses %s', async (_name, request, path) => {
    const before = await arrange();
    const response = await request(before.api, before.tenant);
    expect(paths(response)).toContain(path);
    await expectNothingWritten(before);
  });

  it('refuses a tenant that is not a slug (operator token)', async () => {
    const api = registry('Acme_Corp');
    const authorization = await bearer({ tenant: '*', scope: 'routes:read routes:write' });
    const response = await api.putRoute(twoVersionBody(), { authorization });
    expect(paths(response)).toContain('path.tenant');
  });
});

describe('400: invalid bodies', () => {
  const bodyWith = (patch: Record<string, unknown>) => ({ ...twoVersionBody(), ...patch });
  const cases: [string, Request, string][] = [
    [
      'a version without url',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { weight: 10, state: 'active' } } })),
      'versions.v2.url',
    ],
    [
      'a weight over 10000',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1', 10_001), v2: version('v2') } })),
      'versions.v1.weight',
    ],
    [
      'a negative weight',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1', -1), v2: version('v2') } })),
      'versions.v1.weight',
    ],
    [
      'a fractional weight',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1', 1.5), v2: version('v2') } })),
      'versions.v1.weight',
    ],
    [
      'an unknown state',
      (api) => api.putRoute(bodyWith({ versions: { v1: { ...version('v1'), state: 'paused' }, v2: version('v2') } })),
      'versions.v1.state',
    ],
    [
      'a rule header that is not a header name',
      (api) => api.putRoute(bodyWith({ rules: [{ header: 'x canary', equals: '1', version: 'v2' }] })),
      'rules.0.header',
    ],
    [
      'defaultVersion naming a missing version',
      (api) => api.putRoute(bodyWith({ defaultVersion: 'v9' })),
      'defaultVersion',
    ],
    [
      'a rule naming a missing version',
      (api) =>
        api.putRoute(bodyWith({ rules: [{ header: 'x-canary', equals: '1', version: 'v2' }, { header: 'x-beta', equals: 'yes', version: 'v9' }] })),
      'rules.1.version',
    ],
    [
      'the cloud metadata address as url',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'http://169.254.169.254/latest/meta-data/' } } })),
      'versions.v2.url',
    ],
    [
      'the metadata address over https',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'https://169.254.169.254' } } })),
      'versions.v2.url',
    ],
    [
      'credentials in the url',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'https://user:secret@v2.example.com' } } })),
      'versions.v2.url',
    ],
    [
      'a url with another scheme',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'ftp://v2.example.com' } } })),
      'versions.v2.url',
    ],
    [
      'localhost as url',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'https://localhost:8443' } } })),
      'versions.v2.url',
    ],
    [
      'a loopback address as url',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'https://127.0.0.1' } } })),
      'versions.v2.url',
    ],
    [
      'a private address as url',
      (api) => api.putRoute(bodyWith({ versions: { v1: version('v1'), v2: { ...version('v2'), url: 'https://10.0.0.7' } } })),
      'versions.v2.url',
    ],
    [
      'the metadata address on a version PUT',
      (api) => api.putVersion('v4', { url: 'http://169.254.169.254' }),
      // Named as the body names it, like a type error in the same body.
      'url',
    ],
    [
      'credentials on a PATCH',
      (api) => api.patchVersion('v2', { url: 'https://admin:hunter2@v2.example.com' }),
      'url',
    ],
    ['a version PUT without url', (api) => api.putVersion('v4', { weight: 5 }), 'url'],
    ['a PATCH with a weight over 10000', (api) => api.patchVersion('v1', { weight: 10_001 }), 'weight'],
    ['a PATCH with a string weight', (api) => api.patchVersion('v1', { weight: '50' }), 'weight'],
    ['a rollback to revision 0', (api) => api.rollback({ revision: 0 }), 'revision'],
    ['a rollback to a string revision', (api) => api.rollback({ revision: '1' }), 'revision'],
  ];

  it.each(cases)('refuses %s, naming the field', async (_name, request, path) => {
    const before = await arrange();
    const response = await request(before.api, before.tenant);
    expect(paths(response)).toContain(path);
    await expectNothingWritten(before);
  });

  const unknownFields: [string, Request, string][] = [
    ['an unknown top-level field on PUT', (api) => api.putRoute(bodyWith({ owner: 'mallory' })), 'owner'],
    ['a revision in a PUT body', (api) => api.putRoute(bodyWith({ revision: 99 })), 'revision'],
    [
      'an unknown field inside a version',
      (api) => api.putRoute(bodyWith({ versions: { v1: { ...version('v1'), colour: 'blue' }, v2: version('v2') } })),
      'colour',
    ],
    [
      'an unknown field inside a rule',
      (api) => api.putRoute(bodyWith({ rules: [{ header: 'x-canary', equals: '1', version: 'v2', regex: '.*' }] })),
      'regex',
    ],
    ['an unknown field on a version PUT', (api) => api.putVersion('v4', { url: 'https://v4.example.com', region: 'eu' }), 'region'],
    ['an unknown field on a PATCH', (api) => api.patchVersion('v1', { weight: 5, name: 'v9' }), 'name'],
    ['an unknown field on a rollback', (api) => api.rollback({ revision: 1, force: true }), 'force'],
  ];

  it.each(unknownFields)('refuses %s, naming it', async (_name, request, field) => {
    const before = await arrange();
    const response = await request(before.api, before.tenant);
    const problem = expectProblem(response, 400);
    expect(JSON.stringify(problem.errors)).toContain(field);
    await expectNothingWritten(before);
  });

  it('refuses an empty PATCH', async () => {
    const before = await arrange();
    expectProblem(await before.api.patchVersion('v1', {}), 400);
    await expectNothingWritten(before);
  });

  it('refuses malformed JSON', async () => {
    const before = await arrange();
    const response = await before.api.putRoute('{"versions": {', { headers: { 'Content-Type': 'application/json' } });
    expectProblem(response, 400);
    await expectNothingWritten(before);
  });

  it('refuses a PUT without a body', async () => {
    const before = await arrange();
    const response = await before.api.putRoute(undefined, { headers: { 'Content-Type': 'application/json' } });
    expectProblem(response, 400);
    await expectNothingWritten(before);
  });

  it('refuses more than 50 versions', async () => {
    const before = await arrange();
    const versions = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`v${index}`, version(`v${index}`, 1)]));
    const response = await before.api.putRoute({ versions, defaultVersion: 'v0' });
    expect(paths(response)).toContain('versions');
    await expectNothingWritten(before);
  });

  it('refuses more than 50 rules', async () => {
    const before = await arrange();
    const rules = Array.from({ length: 51 }, (_, index) => ({ header: `x-h${index}`, equals: '1', version: 'v1' }));
    const response = await before.api.putRoute({ ...twoVersionBody(), rules });
    expect(paths(response)).toContain('rules');
    await expectNothingWritten(before);
  });
});

describe('400: headers and query parameters', () => {
  const badIfMatch = ['3', '"abc"', '"0"', '"-1"', 'W/', '"1", "2"'];

  it.each(badIfMatch)('refuses If-Match: %s', async (value) => {
    const before = await arrange();
    const response = await before.api.patchVersion('v1', { weight: 1 }, { headers: { 'If-Match': value } });
    expect(paths(response)).toContain('header.if-match');
    await expectNothingWritten(before);
  });

  it('refuses If-None-Match other than * on a write', async () => {
    const before = await arrange();
    const response = await before.api.putRoute(twoVersionBody(), { headers: { 'If-None-Match': '"2"' } });
    expect(paths(response)).toContain('header.if-none-match');
    await expectNothingWritten(before);
  });

  const listings: [string, (api: Registry, query: Record<string, string>) => Promise<Response<unknown>>][] = [
    ['routes', (api, query) => api.listRoutes({ query })],
    ['revisions', (api, query) => api.listRevisions({ query })],
    ['audit', (api, query) => api.audit({ query })],
  ];

  describe.each(listings)('listing %s', (_name, list) => {
    it.each(['0', '101', '-1', 'ten', '1.5'])('refuses limit=%s', async (limit) => {
      expect(paths(await list(registry(uniqueTenant()), { limit }))).toContain('query.limit');
    });

    it.each([
      'garbage',
      Buffer.from('{"s":"T#other#ROUTES","k":{"PK":"T#other#R#a#b"}}').toString('base64url'),
      'x'.repeat(2049),
    ])('refuses a bad cursor (%#)', async (cursor) => {
      expect(paths(await list(registry(uniqueTenant()), { cursor }))).toContain('query.cursor');
    });

    it('refuses an unknown query parameter', async () => {
      expectProblem(await list(registry(uniqueTenant()), { limt: '5' }), 400);
    });
  });

  it('refuses a cursor issued for another route', async () => {
    const before = await arrange();
    for (let index = 0; index < 3; index += 1) {
      await before.api.putVersion(`w${index}`, version(`w${index}`, 1), {}, 'cart', 'prod');
    }
    const page = await before.api.listRevisions({ query: { limit: '1' } }, 'cart', 'prod');
    const cursor = page.body.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    expect(paths(await before.api.listRevisions({ query: { cursor: cursor ?? '' } }))).toContain('query.cursor');
  });
});

describe('404', () => {
  const cases: [string, Request][] = [
    ['GET of a missing route', (api) => api.getRoute({}, 'nothing', 'prod')],
    ['DELETE of a missing route', (api) => api.deleteRoute({}, 'nothing', 'prod')],
    ['PATCH of a version of a missing route', (api) => api.patchVersion('v1', { weight: 1 }, {}, 'nothing', 'prod')],
    ['DELETE of a version of a missing route', (api) => api.deleteVersion('v1', {}, 'nothing', 'prod')],
    ['PATCH of a missing version', (api) => api.patchVersion('v9', { weight: 1 })],
    ['DELETE of a missing version', (api) => api.deleteVersion('v9')],
    ['GET of a missing revision', (api) => api.getRevision(99)],
    ['revisions of a route that never existed', (api) => api.listRevisions({}, 'nothing', 'prod')],
    ['a revision of a route that never existed', (api) => api.getRevision(1, {}, 'nothing', 'prod')],
    ['a rollback to a missing revision', (api) => api.rollback({ revision: 99 })],
    ['a rollback of a route that never existed', (api) => api.rollback({ revision: 1 }, {}, 'nothing', 'prod')],
  ];

  it.each(cases)('answers %s with 404', async (_name, request) => {
    const before = await arrange();
    expectProblem(await request(before.api, before.tenant), 404);
    await expectNothingWritten(before);
    expect((await before.api.getRoute({}, 'nothing', 'prod')).status).toBe(404);
  });

  it('answers 404 to a token of another tenant, without a hint', async () => {
    const before = await arrange();
    const other = registry(before.tenant);
    const authorization = await bearer({ tenant: uniqueTenant(), scope: 'routes:read routes:write' });
    const read = await other.getRoute({ authorization });
    const write = await other.putVersion('v9', version('v9'), { authorization });
    expectProblem(read, 404);
    expectProblem(write, 404);
    expect(read.raw.body).not.toContain('checkout.example.com');
    await expectNothingWritten(before);
  });
});

describe('409', () => {
  it('refuses to delete the default version', async () => {
    const before = await arrange();
    const problem = expectProblem(await before.api.deleteVersion('v1'), 409);
    expect(problem.detail).toContain('v1');
    await expectNothingWritten(before);
  });

  it('refuses to delete a version a rule targets', async () => {
    const before = await arrange();
    expectProblem(await before.api.deleteVersion('v2'), 409);
    await expectNothingWritten(before);
  });

  it('refuses to roll back to a revision that deleted the route', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    expect((await api.deleteRoute()).status).toBe(204);
    await api.putRoute(twoVersionBody());
    const before: Before = {
      api,
      tenant,
      route: (await api.getRoute()).body,
      etag: '"3"',
      revisions: [3, 2, 1],
      audit: 3,
    };

    expectProblem(await api.rollback({ revision: 2 }), 409);

    await expectNothingWritten(before);
  });

  it('refuses to roll back a deleted route to its delete revision', async () => {
    const api = registry(uniqueTenant());
    await api.putRoute(twoVersionBody());
    await api.deleteRoute();

    expectProblem(await api.rollback({ revision: 2 }), 409);

    expect((await api.getRoute()).status).toBe(404);
    const history = await api.listRevisions();
    expect(history.body.items.map((item) => item.revision)).toEqual([2, 1]);
  });
});

describe('412', () => {
  const stale = { 'If-Match': '"1"' };
  const cases: [string, Request][] = [
    ['a route PUT', (api) => api.putRoute({ versions: { v1: version('v1') }, defaultVersion: 'v1' }, { headers: stale })],
    ['a version PUT', (api) => api.putVersion('v4', version('v4'), { headers: stale })],
    ['a PATCH', (api) => api.patchVersion('v1', { weight: 1 }, { headers: stale })],
    ['a version DELETE', (api) => api.deleteVersion('v3', { headers: stale })],
    ['a route DELETE', (api) => api.deleteRoute({ headers: stale })],
    ['a rollback', (api) => api.rollback({ revision: 1 }, { headers: stale })],
    ['a PATCH with a weak stale tag', (api) => api.patchVersion('v1', { weight: 1 }, { headers: { 'If-Match': 'W/"1"' } })],
    ['a PATCH with a future revision', (api) => api.patchVersion('v1', { weight: 1 }, { headers: { 'If-Match': '"3"' } })],
  ];

  it.each(cases)('refuses %s with a stale If-Match', async (_name, request) => {
    const before = await arrange();
    expectProblem(await request(before.api, before.tenant), 412);
    await expectNothingWritten(before);
  });

  it('refuses a no-op write with a stale If-Match too', async () => {
    const before = await arrange();
    expectProblem(await before.api.patchVersion('v1', { weight: 90 }, { headers: stale }), 412);
    await expectNothingWritten(before);
  });

  it('accepts a write with the current If-Match', async () => {
    const before = await arrange();
    const response = await before.api.patchVersion('v1', { weight: 80 }, { headers: { 'If-Match': before.etag ?? '' } });
    expect(response.status).toBe(200);
    expect(response.headers.etag).toBe('"3"');
  });

  it('refuses If-None-Match: * on an existing route', async () => {
    const before = await arrange();
    expectProblem(await before.api.putRoute(twoVersionBody(), { headers: { 'If-None-Match': '*' } }), 412);
    await expectNothingWritten(before);
  });

  it('refuses If-None-Match: * on a version PUT when the route exists, and creates with it when absent', async () => {
    const before = await arrange();
    expectProblem(await before.api.putVersion('v4', version('v4'), { headers: { 'If-None-Match': '*' } }), 412);
    await expectNothingWritten(before);

    const api = registry(uniqueTenant());
    expect((await api.putVersion('v1', version('v1'), { headers: { 'If-None-Match': '*' } })).status).toBe(201);
  });

  it('creates with If-None-Match: * when the route is absent', async () => {
    const api = registry(uniqueTenant());
    const response = await api.putRoute(twoVersionBody(), { headers: { 'If-None-Match': '*' } });
    expect(response.status).toBe(201);
  });

  it('refuses If-Match on an absent route, creating nothing', async () => {
    const api = registry(uniqueTenant());
    expectProblem(await api.putRoute(twoVersionBody(), { headers: { 'If-Match': '"1"' } }), 412);
    expectProblem(await api.putVersion('v1', version('v1'), { headers: { 'If-Match': '*' } }), 412);
    expect((await api.getRoute()).status).toBe(404);
    expect((await api.listRevisions()).status).toBe(404);
  });
});

describe('413, 415', () => {
  it('refuses a body over 64 KiB with 413', async () => {
    const before = await arrange();
    const body = JSON.stringify({ ...twoVersionBody(), padding: 'x'.repeat(64 * 1024) });
    const response = await before.api.putRoute(body, { headers: { 'Content-Type': 'application/json' } });
    expectProblem(response, 413);
    await expectNothingWritten(before);
  });

  it('refuses an oversized body before looking at its media type', async () => {
    const before = await arrange();
    const oversized = await before.api.patchVersion('v1', 'y'.repeat(64 * 1024 + 1), { headers: { 'Content-Type': 'text/plain' } });
    expectProblem(oversized, 413);
    await expectNothingWritten(before);
  });

  it('accepts a body of exactly 64 KiB as far as size goes', async () => {
    const before = await arrange();
    const base = JSON.stringify({ weight: 7, url: 'https://v1.checkout.example.com' });
    const body = base.slice(0, -1) + ' '.repeat(64 * 1024 - base.length) + '}';
    expect(Buffer.byteLength(body)).toBe(64 * 1024);
    const response = await before.api.patchVersion('v1', body, { headers: { 'Content-Type': 'application/json' } });
    expect(response.status).toBe(200);
  });

  it.each([
    ['text/plain', (api: Registry) => api.putRoute(JSON.stringify(twoVersionBody()), { headers: { 'Content-Type': 'text/plain' } })],
    ['no content type', (api: Registry) => api.putRoute(JSON.stringify(twoVersionBody()))],
    ['form encoding', (api: Registry) => api.patchVersion('v1', 'weight=5', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })],
    ['text/plain on a rollback', (api: Registry) => api.rollback('{"revision":1}', { headers: { 'Content-Type': 'text/plain' } })],
  ])('refuses %s with 415', async (_name, request) => {
    const before = await arrange();
    expectProblem(await request(before.api), 415);
    await expectNothingWritten(before);
  });

  it('accepts application/json with a charset', async () => {
    const before = await arrange();
    const response = await before.api.patchVersion('v1', JSON.stringify({ weight: 80 }), {
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(response.status).toBe(200);
  });
});

describe('422', () => {
  it('refuses an Idempotency-Key reused with another body, and writes nothing', async () => {
    const before = await arrange();
    const key = randomUUID();
    const first = await before.api.patchVersion('v1', { weight: 80 }, { headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(200);
    const afterFirst: Before = {
      ...before,
      route: first.body,
      etag: first.headers.etag,
      revisions: [3, ...before.revisions],
      audit: before.audit + 1,
    };

    const reused = await before.api.patchVersion('v1', { weight: 70 }, { headers: { 'Idempotency-Key': key } });

    const problem = expectProblem(reused, 422);
    expect(problem.detail).toContain('Idempotency-Key');
    await expectNothingWritten(afterFirst);
  });
});
