import { ConflictError, HttpError, NotFoundError, ValidationError } from '#shared/errors/http-errors';
import {
  checkInvariants,
  deleteRoute,
  deleteVersion,
  patchVersion,
  putRoute,
  putVersion,
  rollback,
  sameContent,
  type ChangeContext,
  type RouteContent,
} from '#shared/domain/route-changes';
import {
  PatchVersionBodySchema,
  PutRouteBodySchema,
  PutVersionBodySchema,
  RouteSchema,
  type Route,
} from '#shared/domain/route.schema';

const strict = { allowHttp: false, allowPrivate: false };

function ctx(overrides: Partial<ChangeContext> = {}): ChangeContext {
  return {
    tenant: 'acme',
    service: 'checkout',
    env: 'prod',
    actor: 'user-123',
    now: '2026-11-27T11:00:00.000Z',
    policy: strict,
    lastRevision: 7,
    ...overrides,
  };
}

function existing(overrides: Partial<Route> = {}): Route {
  return {
    tenant: 'acme',
    service: 'checkout',
    env: 'prod',
    versions: {
      v1: { url: 'https://checkout-v1.acme.example', weight: 90, state: 'active' },
      v2: { url: 'https://checkout-v2.acme.example', weight: 10, state: 'active' },
    },
    defaultVersion: 'v1',
    rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
    revision: 7,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T10:30:00.000Z',
    updatedBy: 'user-1',
    ...overrides,
  };
}

/** The value, asserting it is present (a typed alternative to `!`). */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

/** Runs `fn`, expecting it to throw an HttpError; returns the error. */
function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError, nothing was thrown');
}

function manyVersions(count: number): Route['versions'] {
  return Object.fromEntries(
    Array.from({ length: count }, (_, index) => [
      `v${index}`,
      { url: `https://v${index}.acme.example`, weight: 1, state: 'active' as const },
    ]),
  );
}

describe('sameContent', () => {
  const base: RouteContent = existing();

  it('ignores revision, timestamps, actor and key order', () => {
    const reordered = existing({
      versions: { v2: must(existing().versions.v2), v1: must(existing().versions.v1) },
      revision: 99,
      updatedAt: '2030-01-01T00:00:00.000Z',
      updatedBy: 'someone-else',
    });
    expect(sameContent(base, reordered)).toBe(true);
  });

  it.each<[string, RouteContent]>([
    ['a different defaultVersion', { ...base, defaultVersion: 'v2' }],
    ['no defaultVersion', { versions: base.versions, rules: base.rules }],
    ['an extra rule', { ...base, rules: [...base.rules, { header: 'x', equals: 'y', version: 'v1' }] }],
    ['a rule with another header', { ...base, rules: [{ header: 'x-other', equals: '1', version: 'v2' }] }],
    ['a rule with another value', { ...base, rules: [{ header: 'x-canary', equals: '2', version: 'v2' }] }],
    ['a rule with another version', { ...base, rules: [{ header: 'x-canary', equals: '1', version: 'v1' }] }],
    ['a missing version', { ...base, versions: { v1: must(base.versions.v1) } }],
    [
      'a renamed version',
      { ...base, versions: { v1: must(base.versions.v1), v3: must(base.versions.v2) } },
    ],
    ['another url', { ...base, versions: { ...base.versions, v2: { ...must(base.versions.v2), url: 'https://x.example' } } }],
    ['another weight', { ...base, versions: { ...base.versions, v2: { ...must(base.versions.v2), weight: 11 } } }],
    ['another state', { ...base, versions: { ...base.versions, v2: { ...must(base.versions.v2), state: 'draining' } } }],
  ])('sees %s as a change', (_, other) => {
    expect(sameContent(base, other)).toBe(false);
    expect(sameContent(other, base)).toBe(false);
  });
});

describe('checkInvariants', () => {
  it('accepts a consistent route', () => {
    expect(() => checkInvariants(existing(), strict)).not.toThrow();
  });

  it('accepts a route with no versions and no defaultVersion', () => {
    expect(() => checkInvariants({ versions: {}, rules: [] }, strict)).not.toThrow();
  });

  it('lists every failing field in one 400', () => {
    const error = thrown(() =>
      checkInvariants(
        {
          versions: {
            v1: { url: 'http://checkout-v1.acme.example', weight: 1, state: 'active' },
            v2: { url: 'https://169.254.169.254/', weight: 1, state: 'active' },
          },
          defaultVersion: 'v9',
          rules: [
            { header: 'x-a', equals: '1', version: 'v1' },
            { header: 'x-b', equals: '1', version: 'nope' },
          ],
        },
        strict,
      ),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([
      { path: 'versions.v1.url', message: 'must use https' },
      { path: 'versions.v2.url', message: expect.stringContaining('metadata') },
      { path: 'defaultVersion', message: expect.stringContaining("'v9'") },
      { path: 'rules.1.version', message: expect.stringContaining("'nope'") },
    ]);
  });

  it('does not let an inherited property pass for a version', () => {
    const error = thrown(() =>
      checkInvariants({ versions: {}, defaultVersion: 'constructor', rules: [] }, strict),
    );
    expect(error.errors).toEqual([{ path: 'defaultVersion', message: expect.any(String) }]);
  });

  it('refuses more than 50 versions and 50 rules', () => {
    const rules = Array.from({ length: 51 }, () => ({ header: 'x', equals: '1', version: 'v0' }));
    const error = thrown(() => checkInvariants({ versions: manyVersions(51), rules }, strict));
    expect(error.errors).toEqual([
      { path: 'versions', message: 'at most 50 versions' },
      { path: 'rules', message: 'at most 50 rules' },
    ]);
  });

  it('accepts exactly 50 versions and 50 rules', () => {
    const rules = Array.from({ length: 50 }, () => ({ header: 'x', equals: '1', version: 'v0' }));
    expect(() => checkInvariants({ versions: manyVersions(50), rules }, strict)).not.toThrow();
  });

  it('applies the upstream policy it is given', () => {
    const local = { versions: { v1: { url: 'http://127.0.0.1:3000', weight: 1, state: 'active' as const } }, rules: [] };
    expect(() => checkInvariants(local, strict)).toThrow(ValidationError);
    expect(() => checkInvariants(local, { allowHttp: true, allowPrivate: true })).not.toThrow();
  });
});

describe('putRoute', () => {
  const body = PutRouteBodySchema.parse({
    versions: {
      v1: { url: 'https://checkout-v1.acme.example', weight: 100, state: 'active' },
    },
    defaultVersion: 'v1',
  });

  it('creates a route at lastRevision + 1 with createdAt now', () => {
    const result = putRoute(undefined, body, ctx({ lastRevision: 0 }));
    expect(result).toEqual({
      changed: true,
      created: true,
      route: {
        tenant: 'acme',
        service: 'checkout',
        env: 'prod',
        versions: body.versions,
        defaultVersion: 'v1',
        rules: [],
        revision: 1,
        createdAt: '2026-11-27T11:00:00.000Z',
        updatedAt: '2026-11-27T11:00:00.000Z',
        updatedBy: 'user-123',
      },
    });
    expect(RouteSchema.parse(result.route)).toEqual(result.route);
  });

  it('continues the revision count of a deleted route', () => {
    const result = putRoute(undefined, body, ctx({ lastRevision: 12 }));
    expect(result.route.revision).toBe(13);
    expect(result.created).toBe(true);
  });

  it('replaces an existing route, keeping createdAt', () => {
    const current = existing();
    const result = putRoute(current, body, ctx());
    expect(result.changed).toBe(true);
    expect(result.created).toBe(false);
    expect(result.route).toMatchObject({
      versions: body.versions,
      defaultVersion: 'v1',
      rules: [],
      revision: 8,
      createdAt: current.createdAt,
      updatedAt: '2026-11-27T11:00:00.000Z',
      updatedBy: 'user-123',
    });
    expect(RouteSchema.parse(result.route)).toEqual(result.route);
  });

  it('never goes backwards if lastRevision lags the current route', () => {
    expect(putRoute(existing({ revision: 9 }), body, ctx({ lastRevision: 3 })).route.revision).toBe(10);
  });

  it('leaves a route without defaultVersion when the body omits it', () => {
    const result = putRoute(existing(), PutRouteBodySchema.parse({ versions: body.versions }), ctx());
    expect(result.route).not.toHaveProperty('defaultVersion');
    expect(RouteSchema.parse(result.route)).toEqual(result.route);
  });

  it('reports a no-op and returns the current route untouched', () => {
    const current = existing();
    const same = PutRouteBodySchema.parse({
      versions: current.versions,
      defaultVersion: current.defaultVersion,
      rules: current.rules,
    });
    const result = putRoute(current, same, ctx());
    expect(result).toEqual({ route: current, changed: false, created: false });
  });

  it('does not share objects with the body or mutate the current route', () => {
    const current = existing();
    const snapshot = structuredClone(current);
    const input = PutRouteBodySchema.parse({ versions: body.versions, rules: [{ header: 'x', equals: '1', version: 'v1' }] });
    const result = putRoute(current, input, ctx());
    must(input.versions.v1).weight = 1;
    must(input.rules[0]).equals = 'changed';
    expect(must(result.route.versions.v1).weight).toBe(100);
    expect(must(result.route.rules[0]).equals).toBe('1');
    expect(current).toEqual(snapshot);
  });

  it.each([
    [{ versions: body.versions, defaultVersion: 'v2' }, 'defaultVersion'],
    [{ versions: body.versions, rules: [{ header: 'x', equals: '1', version: 'v2' }] }, 'rules.0.version'],
    [{ versions: { v1: { url: 'https://localhost', weight: 1, state: 'active' } } }, 'versions.v1.url'],
  ])('refuses %j with 400 at %s', (input, path) => {
    const error = thrown(() => putRoute(existing(), PutRouteBodySchema.parse(input), ctx()));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.errors?.map((e) => e.path)).toEqual([path]);
  });
});

describe('putVersion', () => {
  const v3 = PutVersionBodySchema.parse({ url: 'https://checkout-v3.acme.example' });

  it('creates an absent route with the version as defaultVersion', () => {
    const result = putVersion(undefined, 'v3', v3, ctx({ lastRevision: 0 }));
    expect(result).toEqual({
      changed: true,
      created: true,
      versionCreated: true,
      route: expect.objectContaining({
        versions: { v3: { url: 'https://checkout-v3.acme.example', weight: 0, state: 'active' } },
        defaultVersion: 'v3',
        rules: [],
        revision: 1,
        createdAt: '2026-11-27T11:00:00.000Z',
      }),
    });
    expect(RouteSchema.parse(result.route)).toEqual(result.route);
  });

  it('adds a new version to an existing route without touching defaultVersion', () => {
    const result = putVersion(existing(), 'v3', v3, ctx());
    expect(result.changed).toBe(true);
    expect(result.created).toBe(false);
    expect(result.versionCreated).toBe(true);
    expect(result.route.defaultVersion).toBe('v1');
    expect(Object.keys(result.route.versions).sort()).toEqual(['v1', 'v2', 'v3']);
    expect(result.route.revision).toBe(8);
  });

  it('replaces an existing version', () => {
    const body = PutVersionBodySchema.parse({ url: 'https://checkout-v2b.acme.example', weight: 20, state: 'draining' });
    const result = putVersion(existing(), 'v2', body, ctx());
    expect(result.versionCreated).toBe(false);
    expect(result.changed).toBe(true);
    expect(result.route.versions.v2).toEqual({ url: 'https://checkout-v2b.acme.example', weight: 20, state: 'draining' });
  });

  it('makes the version the default of a route left with no versions', () => {
    const empty = existing({ versions: {}, rules: [], defaultVersion: undefined });
    delete empty.defaultVersion;
    const result = putVersion(empty, 'v3', v3, ctx());
    expect(result.route.defaultVersion).toBe('v3');
    expect(result.created).toBe(false);
  });

  it('keeps a route without defaultVersion that still has versions without one', () => {
    const current = existing({ rules: [] });
    delete current.defaultVersion;
    expect(putVersion(current, 'v3', v3, ctx()).route).not.toHaveProperty('defaultVersion');
  });

  it('reports a no-op when the version is already exactly so', () => {
    const current = existing();
    const result = putVersion(current, 'v1', PutVersionBodySchema.parse(current.versions.v1), ctx());
    expect(result).toEqual({ route: current, changed: false, created: false, versionCreated: false });
  });

  it('refuses a disallowed url with 400 at versions.<name>.url', () => {
    const error = thrown(() =>
      putVersion(existing(), 'v3', PutVersionBodySchema.parse({ url: 'https://[::ffff:7f00:1]/' }), ctx()),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'versions.v3.url', message: expect.stringContaining('loopback') }]);
  });

  it('refuses a 51st version', () => {
    const current = existing({ versions: manyVersions(50), defaultVersion: 'v0', rules: [] });
    const error = thrown(() => putVersion(current, 'v50', v3, ctx()));
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'versions', message: 'at most 50 versions' }]);
  });
});

describe('patchVersion', () => {
  it('changes only the given fields', () => {
    const result = patchVersion(existing(), 'v2', PatchVersionBodySchema.parse({ weight: 50 }), ctx());
    expect(result.changed).toBe(true);
    expect(result.route.versions.v2).toEqual({ url: 'https://checkout-v2.acme.example', weight: 50, state: 'active' });
    expect(result.route.versions.v1).toEqual(existing().versions.v1);
    expect(result.route.revision).toBe(8);
    expect(RouteSchema.parse(result.route)).toEqual(result.route);
  });

  it('changes url and state', () => {
    const body = PatchVersionBodySchema.parse({ url: 'https://new.acme.example', state: 'disabled' });
    expect(patchVersion(existing(), 'v1', body, ctx()).route.versions.v1).toEqual({
      url: 'https://new.acme.example',
      weight: 90,
      state: 'disabled',
    });
  });

  it('reports a no-op for a patch that changes nothing', () => {
    const current = existing();
    const result = patchVersion(current, 'v1', PatchVersionBodySchema.parse({ weight: 90 }), ctx());
    expect(result).toEqual({ route: current, changed: false, created: false });
  });

  it('returns 404 when the route is absent', () => {
    const error = thrown(() => patchVersion(undefined, 'v1', { weight: 1 }, ctx()));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.status).toBe(404);
    expect(error.message).toBe('No such route.');
  });

  it.each(['v9', 'constructor', '__proto__'])('returns 404 when version %s is absent', (name) => {
    const error = thrown(() => patchVersion(existing(), name, { weight: 1 }, ctx()));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(name);
  });

  it('refuses a disallowed url with 400', () => {
    const error = thrown(() => patchVersion(existing(), 'v1', { url: 'https://10.0.0.1' }, ctx()));
    expect(error.status).toBe(400);
    expect(error.errors?.[0]?.path).toBe('versions.v1.url');
  });
});

describe('deleteVersion', () => {
  it('removes a version nothing refers to', () => {
    const current = existing({ rules: [] });
    const result = deleteVersion(current, 'v2', ctx());
    expect(result.changed).toBe(true);
    expect(Object.keys(result.route.versions)).toEqual(['v1']);
    expect(result.route.revision).toBe(8);
    expect(current.versions.v2).toBeDefined();
  });

  it('leaves a route with no versions and no defaultVersion after the last one', () => {
    const current = existing({ versions: { v1: must(existing().versions.v1) }, rules: [] });
    delete current.defaultVersion;
    const result = deleteVersion(current, 'v1', ctx());
    expect(result.route.versions).toEqual({});
    expect(result.route).not.toHaveProperty('defaultVersion');
    expect(RouteSchema.parse(result.route)).toEqual(result.route);
  });

  it('returns 409 naming defaultVersion when it is the default', () => {
    const error = thrown(() => deleteVersion(existing(), 'v1', ctx()));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.status).toBe(409);
    expect(error.errors).toEqual([{ path: 'defaultVersion', message: "names version 'v1'" }]);
  });

  it('returns 409 naming every rule that targets it', () => {
    const current = existing({
      rules: [
        { header: 'x-canary', equals: '1', version: 'v2' },
        { header: 'x-beta', equals: '1', version: 'v1' },
        { header: 'x-qa', equals: '1', version: 'v2' },
      ],
    });
    const error = thrown(() => deleteVersion(current, 'v2', ctx()));
    expect(error.status).toBe(409);
    expect(error.errors?.map((e) => e.path)).toEqual(['rules.0.version', 'rules.2.version']);
  });

  it('returns 404 when the route or the version is absent', () => {
    expect(thrown(() => deleteVersion(undefined, 'v1', ctx())).status).toBe(404);
    expect(thrown(() => deleteVersion(existing(), 'v9', ctx())).status).toBe(404);
    expect(thrown(() => deleteVersion(existing(), 'toString', ctx())).status).toBe(404);
  });
});

describe('deleteRoute', () => {
  it('returns the final revision number and the route before', () => {
    const current = existing();
    expect(deleteRoute(current, ctx())).toEqual({ route: null, changed: true, revision: 8, previous: current });
  });

  it('uses the highest known revision', () => {
    expect(deleteRoute(existing({ revision: 3 }), ctx({ lastRevision: 5 })).revision).toBe(6);
  });

  it('returns 404 when the route is absent', () => {
    const error = thrown(() => deleteRoute(undefined, ctx()));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.status).toBe(404);
  });
});

describe('rollback', () => {
  const old = existing({
    versions: { v1: { url: 'https://checkout-v1.acme.example', weight: 100, state: 'active' } },
    rules: [],
    revision: 3,
    updatedAt: '2026-11-27T09:00:00.000Z',
    updatedBy: 'user-old',
  });

  it('commits a new revision with the content of the target', () => {
    const current = existing();
    const result = rollback(current, { revision: 3, route: old }, ctx());
    expect(result.changed).toBe(true);
    expect(result.created).toBe(false);
    expect(sameContent(result.route, old)).toBe(true);
    expect(result.route).toMatchObject({
      revision: 8,
      createdAt: current.createdAt,
      updatedAt: '2026-11-27T11:00:00.000Z',
      updatedBy: 'user-123',
    });
  });

  it('re-creates a deleted route, continuing the revision count', () => {
    const result = rollback(undefined, { revision: 3, route: old }, ctx({ lastRevision: 9 }));
    expect(result).toMatchObject({ changed: true, created: true });
    expect(result.route.revision).toBe(10);
    expect(result.route.createdAt).toBe('2026-11-27T11:00:00.000Z');
  });

  it('reports a no-op when the content is already the target', () => {
    const current = existing();
    expect(rollback(current, { revision: 5, route: existing({ revision: 5 }) }, ctx())).toEqual({
      route: current,
      changed: false,
      created: false,
    });
  });

  it('returns 409 when the target revision is a delete', () => {
    const error = thrown(() => rollback(existing(), { revision: 4, route: null }, ctx()));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.status).toBe(409);
    expect(error.errors).toEqual([{ path: 'revision', message: 'names a delete' }]);
  });

  it('returns 400 when the target has a url the policy now refuses', () => {
    const local = existing({ versions: { v1: { url: 'http://127.0.0.1:3000', weight: 1, state: 'active' } }, rules: [] });
    const error = thrown(() => rollback(existing(), { revision: 2, route: local }, ctx()));
    expect(error.status).toBe(400);
    expect(error.errors?.[0]?.path).toBe('versions.v1.url');
  });

  it('does not share objects with the target revision', () => {
    const target = structuredClone(old);
    const result = rollback(existing(), { revision: 3, route: target }, ctx());
    must(target.versions.v1).weight = 1;
    expect(must(result.route.versions.v1).weight).toBe(100);
  });
});
