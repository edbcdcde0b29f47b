import { ConflictError, HttpError, NotFoundError, ValidationError } from '#shared/errors/http-errors';
import {
  addsVersion,
  checkInvariants,
  deleteRoute,
  deleteVersion,
  patchVersion,
  putRoute,
  putVersion,
  rollback,
  sameContent,
  type ContentChange,
  type RouteChange,
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

/**
 * What the write path (shared/store/commit-change.ts) does with a change before stamping it:
 * apply it to the current route, then check the invariants of a changed, non-null result
 * under the policy, naming field errors from the change's body. Returns what `apply` decided.
 */
function decide(change: RouteChange, current: Route | undefined, policy = strict): ContentChange {
  const decided = change.apply(current);
  if (decided.changed && decided.next !== null) checkInvariants(decided.next, policy, change.bodyPath);
  return decided;
}

/** The content a change decided, asserting there is some (not a delete). */
function content(decided: ContentChange): RouteContent {
  if (decided.next === null) throw new Error('expected content, got a delete');
  return decided.next;
}

/** A change's result holds content only: no key, revision, timestamps or actor. */
function expectContentOnly(decided: ContentChange): void {
  for (const field of Object.keys(content(decided))) {
    expect(['versions', 'rules', 'defaultVersion']).toContain(field);
  }
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

  it('names field errors inside bodyPath as the body names them, and leaves the others', () => {
    const error = thrown(() =>
      checkInvariants(
        {
          versions: {
            v1: { url: 'https://localhost', weight: 1, state: 'active' },
            v3: { url: 'https://10.0.0.1', weight: 1, state: 'active' },
            v30: { url: 'https://10.0.0.2', weight: 1, state: 'active' },
          },
          defaultVersion: 'v9',
          rules: [],
        },
        strict,
        'versions.v3',
      ),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.errors?.map((e) => e.path)).toEqual(['versions.v1.url', 'url', 'versions.v30.url', 'defaultVersion']);
  });

  it('names a refused URL in bodyPath versions.v3 as url, not versions.v3.url', () => {
    const error = thrown(() =>
      checkInvariants(
        { versions: { v3: { url: 'https://169.254.169.254/', weight: 1, state: 'active' } }, rules: [] },
        strict,
        'versions.v3',
      ),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'url', message: expect.stringContaining('metadata') }]);
  });

  it('does not rename a field that bodyPath names itself, or the limits', () => {
    const error = thrown(() => checkInvariants({ versions: manyVersions(51), rules: [] }, strict, 'versions'));
    expect(error.errors?.map((e) => e.path)).toEqual(['versions']);
  });

  it('applies the upstream policy it is given', () => {
    const local = { versions: { v1: { url: 'http://127.0.0.1:3000', weight: 1, state: 'active' as const } }, rules: [] };
    expect(() => checkInvariants(local, strict)).toThrow(ValidationError);
    expect(() => checkInvariants(local, { allowHttp: true, allowPrivate: true })).not.toThrow();
  });
});

describe('every change', () => {
  const body = PutRouteBodySchema.parse({
    versions: { v1: { url: 'https://checkout-v1.acme.example', weight: 100, state: 'active' } },
  });
  const cases: [string, RouteChange, string | undefined][] = [
    ['route.put', putRoute(body), undefined],
    ['version.put', putVersion('v3', PutVersionBodySchema.parse({ url: 'https://v3.acme.example' })), 'versions.v3'],
    ['version.patch', patchVersion('v2', { weight: 5 }), 'versions.v2'],
    ['version.delete', deleteVersion('v2'), undefined],
    ['route.delete', deleteRoute(), undefined],
    ['rollback', rollback({ revision: 3, route: existing({ revision: 3, rules: [], defaultVersion: 'v2' }) }), undefined],
  ];

  it.each(cases)('%s has its kind and bodyPath, and apply is pure and repeatable', (kind, change, bodyPath) => {
    expect(change.kind).toBe(kind);
    expect(change.bodyPath).toBe(bodyPath);
    const current = existing({ rules: [] });
    const before = structuredClone(current);
    const first = change.apply(current);
    const second = change.apply(current);
    expect(second).toEqual(first);
    expect(current).toEqual(before);
    if (first.next !== null) {
      expect(first.changed).toBe(true);
      expectContentOnly(first);
    }
  });
});

describe('putRoute', () => {
  const body = PutRouteBodySchema.parse({
    versions: {
      v1: { url: 'https://checkout-v1.acme.example', weight: 100, state: 'active' },
    },
    defaultVersion: 'v1',
  });

  it('creates an absent route with exactly the body as content', () => {
    const result = decide(putRoute(body), undefined);
    expect(result).toEqual({
      changed: true,
      next: { versions: body.versions, defaultVersion: 'v1', rules: [] },
    });
  });

  it('replaces an existing route', () => {
    const result = decide(putRoute(body), existing());
    expect(result.changed).toBe(true);
    expect(result.next).toEqual({ versions: body.versions, defaultVersion: 'v1', rules: [] });
    expectContentOnly(result);
    // The stamped route (with this content) is still a valid route.
    expect(() => RouteSchema.parse({ ...existing(), ...content(result) })).not.toThrow();
  });

  it('leaves a route without defaultVersion when the body omits it', () => {
    const result = decide(putRoute(PutRouteBodySchema.parse({ versions: body.versions })), existing());
    expect(result.changed).toBe(true);
    expect(result.next).not.toHaveProperty('defaultVersion');
  });

  it('reports a no-op when the content is already exactly the body', () => {
    const current = existing();
    const same = PutRouteBodySchema.parse({
      versions: current.versions,
      defaultVersion: current.defaultVersion,
      rules: current.rules,
    });
    const result = putRoute(same).apply(current);
    expect(result.changed).toBe(false);
    expect(sameContent(content(result), current)).toBe(true);
  });

  it('does not share objects with the body or mutate the current route', () => {
    const current = existing();
    const snapshot = structuredClone(current);
    const input = PutRouteBodySchema.parse({ versions: body.versions, rules: [{ header: 'x', equals: '1', version: 'v1' }] });
    const result = content(putRoute(input).apply(current));
    must(input.versions.v1).weight = 1;
    must(input.rules[0]).equals = 'changed';
    expect(must(result.versions.v1).weight).toBe(100);
    expect(must(result.rules[0]).equals).toBe('1');
    expect(current).toEqual(snapshot);
  });

  it.each([
    [{ versions: body.versions, defaultVersion: 'v2' }, 'defaultVersion'],
    [{ versions: body.versions, rules: [{ header: 'x', equals: '1', version: 'v2' }] }, 'rules.0.version'],
    [{ versions: { v1: { url: 'https://localhost', weight: 1, state: 'active' } } }, 'versions.v1.url'],
  ])('refuses %j with 400 at %s', (input, path) => {
    const error = thrown(() => decide(putRoute(PutRouteBodySchema.parse(input)), existing()));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.errors?.map((e) => e.path)).toEqual([path]);
  });
});

describe('putVersion', () => {
  const v3 = PutVersionBodySchema.parse({ url: 'https://checkout-v3.acme.example' });

  it('creates an absent route with the version as defaultVersion', () => {
    const result = decide(putVersion('v3', v3), undefined);
    expect(result).toEqual({
      changed: true,
      next: {
        versions: { v3: { url: 'https://checkout-v3.acme.example', weight: 0, state: 'active' } },
        defaultVersion: 'v3',
        rules: [],
      },
    });
    expect(addsVersion(undefined, 'v3')).toBe(true);
  });

  it('adds a new version to an existing route without touching defaultVersion or rules', () => {
    const current = existing();
    const result = decide(putVersion('v3', v3), current);
    expect(result.changed).toBe(true);
    expect(addsVersion(current, 'v3')).toBe(true);
    const next = content(result);
    expect(next.defaultVersion).toBe('v1');
    expect(next.rules).toEqual(current.rules);
    expect(Object.keys(next.versions).sort()).toEqual(['v1', 'v2', 'v3']);
    expect(next.versions.v1).toEqual(current.versions.v1);
    expectContentOnly(result);
  });

  it('replaces an existing version', () => {
    const body = PutVersionBodySchema.parse({ url: 'https://checkout-v2b.acme.example', weight: 20, state: 'draining' });
    const result = decide(putVersion('v2', body), existing());
    expect(addsVersion(existing(), 'v2')).toBe(false);
    expect(result.changed).toBe(true);
    expect(content(result).versions.v2).toEqual({ url: 'https://checkout-v2b.acme.example', weight: 20, state: 'draining' });
  });

  it('makes the version the default of a route left with no versions', () => {
    const empty = existing({ versions: {}, rules: [] });
    delete empty.defaultVersion;
    const result = decide(putVersion('v3', v3), empty);
    expect(content(result).defaultVersion).toBe('v3');
    expect(addsVersion(empty, 'v3')).toBe(true);
  });

  it('keeps a route without defaultVersion that still has versions without one', () => {
    const current = existing({ rules: [] });
    delete current.defaultVersion;
    expect(decide(putVersion('v3', v3), current).next).not.toHaveProperty('defaultVersion');
  });

  it('reports a no-op when the version is already exactly so', () => {
    const current = existing();
    const result = putVersion('v1', PutVersionBodySchema.parse(current.versions.v1)).apply(current);
    expect(result.changed).toBe(false);
    expect(addsVersion(existing(), 'v2')).toBe(false);
    expect(sameContent(content(result), current)).toBe(true);
  });

  it('does not mutate the current route', () => {
    const current = existing();
    const before = structuredClone(current);
    decide(putVersion('v3', v3), current);
    decide(putVersion('v1', v3), current);
    expect(current).toEqual(before);
  });

  it('refuses a disallowed url with 400 at url, as the body names it', () => {
    const error = thrown(() => decide(putVersion('v3', PutVersionBodySchema.parse({ url: 'https://[::ffff:7f00:1]/' })), existing()));
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'url', message: expect.stringContaining('loopback') }]);
  });

  it('refuses a 51st version', () => {
    const current = existing({ versions: manyVersions(50), defaultVersion: 'v0', rules: [] });
    const error = thrown(() => decide(putVersion('v50', v3), current));
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'versions', message: 'at most 50 versions' }]);
  });
});

describe('patchVersion', () => {
  it('changes only the given fields', () => {
    const current = existing();
    const result = decide(patchVersion('v2', PatchVersionBodySchema.parse({ weight: 50 })), current);
    expect(result.changed).toBe(true);
    const next = content(result);
    expect(next.versions.v2).toEqual({ url: 'https://checkout-v2.acme.example', weight: 50, state: 'active' });
    expect(next.versions.v1).toEqual(current.versions.v1);
    expect(next.defaultVersion).toBe('v1');
    expect(next.rules).toEqual(current.rules);
    expectContentOnly(result);
  });

  it('changes url and state', () => {
    const body = PatchVersionBodySchema.parse({ url: 'https://new.acme.example', state: 'disabled' });
    expect(content(decide(patchVersion('v1', body), existing())).versions.v1).toEqual({
      url: 'https://new.acme.example',
      weight: 90,
      state: 'disabled',
    });
  });

  it('reports a no-op for a patch that changes nothing', () => {
    const current = existing();
    const result = patchVersion('v1', PatchVersionBodySchema.parse({ weight: 90 })).apply(current);
    expect(result.changed).toBe(false);
    expect(sameContent(content(result), current)).toBe(true);
  });

  it('returns 404 when the route is absent', () => {
    const error = thrown(() => patchVersion('v1', { weight: 1 }).apply(undefined));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.status).toBe(404);
    expect(error.message).toBe('No such route.');
  });

  it.each(['v9', 'constructor', '__proto__'])('returns 404 when version %s is absent', (name) => {
    const error = thrown(() => patchVersion(name, { weight: 1 }).apply(existing()));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(name);
  });

  it('refuses a disallowed url with 400 at url, as the body names it', () => {
    const error = thrown(() => decide(patchVersion('v1', { url: 'https://10.0.0.1' }), existing()));
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'url', message: expect.any(String) }]);
  });
});

describe('deleteVersion', () => {
  it('removes a version nothing refers to', () => {
    const current = existing({ rules: [] });
    const result = decide(deleteVersion('v2'), current);
    expect(result.changed).toBe(true);
    expect(Object.keys(content(result).versions)).toEqual(['v1']);
    expect(content(result).defaultVersion).toBe('v1');
    expect(current.versions.v2).toBeDefined();
    expectContentOnly(result);
  });

  it('leaves a route with no versions and no defaultVersion after the last one', () => {
    const current = existing({ versions: { v1: must(existing().versions.v1) }, rules: [] });
    delete current.defaultVersion;
    const result = decide(deleteVersion('v1'), current);
    expect(result.changed).toBe(true);
    expect(result.next).toEqual({ versions: {}, rules: [] });
  });

  it('returns 409 naming defaultVersion when it is the default', () => {
    const error = thrown(() => deleteVersion('v1').apply(existing()));
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
    const error = thrown(() => deleteVersion('v2').apply(current));
    expect(error.status).toBe(409);
    expect(error.errors?.map((e) => e.path)).toEqual(['rules.0.version', 'rules.2.version']);
  });

  it('returns 404 when the route or the version is absent', () => {
    expect(thrown(() => deleteVersion('v1').apply(undefined)).status).toBe(404);
    expect(thrown(() => deleteVersion('v9').apply(existing())).status).toBe(404);
    expect(thrown(() => deleteVersion('toString').apply(existing())).status).toBe(404);
  });
});

describe('deleteRoute', () => {
  it('decides no content, a change', () => {
    expect(deleteRoute().apply(existing())).toEqual({ next: null, changed: true });
  });

  it('returns 404 when the route is absent', () => {
    const error = thrown(() => deleteRoute().apply(undefined));
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

  it('decides the content of the target', () => {
    const result = decide(rollback({ revision: 3, route: old }), existing());
    expect(result.changed).toBe(true);
    expect(result.next).toEqual({ versions: old.versions, defaultVersion: 'v1', rules: [] });
    expectContentOnly(result);
  });

  it('re-creates a deleted route', () => {
    const result = decide(rollback({ revision: 3, route: old }), undefined);
    expect(result.changed).toBe(true);
    expect(sameContent(content(result), old)).toBe(true);
  });

  it('reports a no-op when the content is already the target', () => {
    const current = existing();
    const result = rollback({ revision: 5, route: existing({ revision: 5 }) }).apply(current);
    expect(result.changed).toBe(false);
    expect(sameContent(content(result), current)).toBe(true);
  });

  it('returns 409 when the target revision is a delete', () => {
    for (const current of [existing(), undefined]) {
      const error = thrown(() => rollback({ revision: 4, route: null }).apply(current));
      expect(error).toBeInstanceOf(ConflictError);
      expect(error.status).toBe(409);
      expect(error.errors).toEqual([{ path: 'revision', message: 'names a delete' }]);
    }
  });

  it('returns 400 when the target has a url the policy now refuses', () => {
    const local = existing({ versions: { v1: { url: 'http://127.0.0.1:3000', weight: 1, state: 'active' } }, rules: [] });
    const error = thrown(() => decide(rollback({ revision: 2, route: local }), existing()));
    expect(error.status).toBe(400);
    expect(error.errors?.[0]?.path).toBe('versions.v1.url');
  });

  it('does not share objects with the target revision', () => {
    const target = structuredClone(old);
    const result = content(rollback({ revision: 3, route: target }).apply(existing()));
    must(target.versions.v1).weight = 1;
    expect(must(result.versions.v1).weight).toBe(100);
  });
});
