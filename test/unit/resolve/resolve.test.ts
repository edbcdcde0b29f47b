/**
 * The pure resolution function (API.md, Resolve): every step and reason, the sticky-bucket
 * contract that data planes reproduce (pinned hash values), and the stickiness properties
 * its TSDoc claims, over 10 000 keys.
 */
import {
  BUCKETS,
  fnv1a32,
  resolve,
  stickyBucket,
  type ResolveRequest,
} from '#shared/domain/resolve';
import type { Route, Version, VersionState } from '#shared/domain/route.schema';
import { NotFoundError, ServiceUnavailableError } from '#shared/errors/http-errors';
import { seededRandom } from '#test/support/seeded-random';

function version(name: string, weight: number, state: VersionState = 'active'): Version {
  return { url: `https://${name}.checkout.example.com`, weight, state };
}

function route(overrides: Partial<Route> = {}): Route {
  return {
    tenant: 'acme',
    service: 'checkout',
    env: 'prod',
    versions: { v1: version('v1', 90), v2: version('v2', 10) },
    defaultVersion: 'v1',
    rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
    revision: 7,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T11:00:00.000Z',
    updatedBy: 'user-123',
    ...overrides,
  };
}

function weights(entries: Record<string, number>): Record<string, Version> {
  return Object.fromEntries(Object.entries(entries).map(([name, weight]) => [name, version(name, weight)]));
}

const keys = Array.from({ length: 10_000 }, (_, index) => `user-${index}`);

function assignments(target: Route): Map<string, string> {
  return new Map(keys.map((key) => [key, resolve(target, { key, headers: {} }).version]));
}

function counts(values: Iterable<string>): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const value of values) tally[value] = (tally[value] ?? 0) + 1;
  return tally;
}

describe('the sticky hash (part of the data-plane contract)', () => {
  it('is FNV-1a 32: matches the published test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('maps known keys to pinned buckets, over the UTF-8 bytes of tenant/service/env:key', () => {
    const target = { tenant: 'acme', service: 'checkout', env: 'prod' };
    expect(fnv1a32('acme/checkout/prod:user-1')).toBe(386_558_999);
    expect(stickyBucket(target, 'user-1')).toBe(8999);
    expect(stickyBucket(target, 'user-2')).toBe(6618);
    expect(stickyBucket(target, 'alice')).toBe(1070);
    expect(stickyBucket(target, 'bob')).toBe(1953);
    expect(stickyBucket(target, 'ключ')).toBe(7866);
    expect(stickyBucket(target, '42')).toBe(6540);
  });

  it('depends on tenant, service and env, not only on the key', () => {
    const buckets = new Set(
      [
        { tenant: 'acme', service: 'checkout', env: 'prod' },
        { tenant: 'globex', service: 'checkout', env: 'prod' },
        { tenant: 'acme', service: 'cart', env: 'prod' },
        { tenant: 'acme', service: 'checkout', env: 'dev' },
      ].map((target) => stickyBucket(target, 'alice')),
    );
    expect(buckets.size).toBe(4);
  });

  it('spreads keys evenly over the 10 000 buckets', () => {
    const tenths = new Array<number>(10).fill(0);
    for (const key of keys) {
      const bucket = stickyBucket(route(), key);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(BUCKETS);
      tenths[Math.floor(bucket / 1000)] = (tenths[Math.floor(bucket / 1000)] ?? 0) + 1;
    }
    for (const tally of tenths) expect(Math.abs(tally - 1000)).toBeLessThan(120);
  });
});

describe('resolve, step 1: a pinned version', () => {
  it('resolves an active pinned version with reason pinned, before rules and weights', () => {
    const result = resolve(route(), { version: 'v2', key: 'alice', headers: { 'x-canary': 'nope' } });
    expect(result).toEqual({ version: 'v2', url: 'https://v2.checkout.example.com', revision: 7, reason: 'pinned' });
  });

  it('resolves a draining pinned version', () => {
    const target = route({ versions: { v1: version('v1', 100), v2: version('v2', 0, 'draining') } });
    expect(resolve(target, { version: 'v2', headers: {} })).toMatchObject({ version: 'v2', reason: 'pinned' });
  });

  it.each([
    ['a disabled', 'v2'],
    ['an absent', 'v9'],
  ])('refuses %s pinned version with 404', (_case, pinned) => {
    const target = route({ versions: { v1: version('v1', 100), v2: version('v2', 50, 'disabled') } });
    const attempt = () => resolve(target, { version: pinned, headers: {} });
    expect(attempt).toThrow(NotFoundError);
    expect(attempt).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('does not treat an inherited property name as a version', () => {
    expect(() => resolve(route(), { version: 'constructor', headers: {} })).toThrow(NotFoundError);
  });
});

describe('resolve, step 2: rules', () => {
  it('matches the header name case-insensitively and the value exactly', () => {
    const target = route({ versions: weights({ v1: 100, v2: 0 }) });
    expect(resolve(target, { headers: { 'X-Canary': '1' } })).toMatchObject({ version: 'v2', reason: 'rule' });
    expect(resolve(target, { headers: { 'x-canary': '1' } })).toMatchObject({ version: 'v2', reason: 'rule' });
    expect(resolve(target, { headers: { 'x-canary': '1 ' } })).toMatchObject({ version: 'v1', reason: 'weighted' });
    expect(resolve(target, { headers: { 'x-canary': 'TRUE' } })).toMatchObject({ reason: 'weighted' });
  });

  it('matches a rule whose header is written in capitals against lower-cased request headers', () => {
    const target = route({
      versions: weights({ v1: 100, v2: 0 }),
      rules: [{ header: 'X-Beta-User', equals: 'yes', version: 'v2' }],
    });
    expect(resolve(target, { headers: { 'x-beta-user': 'yes' } })).toMatchObject({ version: 'v2', reason: 'rule' });
  });

  it('takes the first matching rule, in order', () => {
    const target = route({
      versions: weights({ v1: 100, v2: 0, v3: 0 }),
      rules: [
        { header: 'x-a', equals: '1', version: 'v3' },
        { header: 'x-b', equals: '1', version: 'v2' },
      ],
    });
    expect(resolve(target, { headers: { 'x-a': '1', 'x-b': '1' } }).version).toBe('v3');
    expect(resolve(target, { headers: { 'x-b': '1' } }).version).toBe('v2');
  });

  it.each(['draining', 'disabled'] as const)('skips a rule whose version is %s and tries the next', (state) => {
    const target = route({
      versions: { v1: version('v1', 100), v2: version('v2', 0, state), v3: version('v3', 0) },
      rules: [
        { header: 'x-canary', equals: '1', version: 'v2' },
        { header: 'x-canary', equals: '1', version: 'v3' },
      ],
    });
    expect(resolve(target, { headers: { 'x-canary': '1' } })).toMatchObject({ version: 'v3', reason: 'rule' });
  });

  it('wins over a sticky key', () => {
    expect(resolve(route(), { key: 'user-1', headers: { 'x-canary': '1' } })).toMatchObject({ reason: 'rule' });
  });
});

describe('resolve, step 3: weighted', () => {
  it('gives the same key the same version on an unchanged route', () => {
    const first = assignments(route());
    const second = assignments(route());
    expect(second).toEqual(first);
    expect(resolve(route(), { key: 'user-1', headers: {} })).toMatchObject({ reason: 'weighted', revision: 7 });
  });

  it('maps buckets onto cumulative weights in name order, whatever the order of the versions object', () => {
    // user-1 is in bucket 8999, alice in 1070: v1 owns [0, 9000) and v2 [9000, 10000).
    const reordered = route({ versions: { v2: version('v2', 10), v1: version('v1', 90) } });
    expect(resolve(reordered, { key: 'user-1', headers: {} }).version).toBe('v1');
    expect(resolve(reordered, { key: 'alice', headers: {} }).version).toBe('v1');
    const canary = route({ versions: weights({ v1: 89, v2: 11 }) });
    expect(resolve(canary, { key: 'user-1', headers: {} }).version).toBe('v2');
  });

  it('splits keys in proportion to the weights, scaled to the total', () => {
    const tally = counts(assignments(route({ versions: weights({ a: 1, b: 2, c: 7 }) })).values());
    expect(Math.abs((tally.a ?? 0) - 1000)).toBeLessThan(150);
    expect(Math.abs((tally.b ?? 0) - 2000)).toBeLessThan(200);
    expect(Math.abs((tally.c ?? 0) - 7000)).toBeLessThan(250);
  });

  it('keeps every key that was on the canary on it when the canary goes from 10% to 20%', () => {
    const before = assignments(route({ versions: weights({ v1: 90, v2: 10 }) }));
    const after = assignments(route({ versions: weights({ v1: 80, v2: 20 }) }));
    const moved = keys.filter((key) => before.get(key) !== after.get(key));
    for (const key of keys) if (before.get(key) === 'v2') expect(after.get(key)).toBe('v2');
    for (const key of moved) expect([before.get(key), after.get(key)]).toEqual(['v1', 'v2']);
    // About 10% of the keys move: the shifted share, and nothing else.
    expect(Math.abs(moved.length - 1000)).toBeLessThan(150);
  });

  it('also holds when the canary sorts first by name', () => {
    const before = assignments(route({ versions: weights({ stable: 90, canary: 10 }) }));
    const after = assignments(route({ versions: weights({ stable: 80, canary: 20 }) }));
    for (const key of keys) if (before.get(key) === 'canary') expect(after.get(key)).toBe('canary');
  });

  it('moves only the shifted share between two versions adjacent in name order, with three versions', () => {
    const before = assignments(route({ versions: weights({ a: 50, b: 30, c: 20 }) }));
    const after = assignments(route({ versions: weights({ a: 50, b: 20, c: 30 }) }));
    const moved = keys.filter((key) => before.get(key) !== after.get(key));
    for (const key of moved) expect([before.get(key), after.get(key)]).toEqual(['b', 'c']);
    expect(Math.abs(moved.length - 1000)).toBeLessThan(150);
  });

  it('moves keys of the version in between when weight shifts between non-adjacent versions (documented limit)', () => {
    const before = assignments(route({ versions: weights({ a: 70, b: 10, c: 20 }) }));
    const after = assignments(route({ versions: weights({ a: 60, b: 10, c: 30 }) }));
    const moves = counts(
      keys.filter((key) => before.get(key) !== after.get(key)).map((key) => `${before.get(key)}->${after.get(key)}`),
    );
    // a's interval shrinks by 10%, b's slides by 10% (b's whole share here), c's grows.
    expect(Object.keys(moves).sort()).toEqual(['a->b', 'b->c']);
    expect(Math.abs((moves['a->b'] ?? 0) - 1000)).toBeLessThan(150);
    expect(Math.abs((moves['b->c'] ?? 0) - 1000)).toBeLessThan(150);
  });

  it('leaves out draining, disabled and zero-weight versions', () => {
    const target = route({
      versions: {
        a: version('a', 50, 'draining'),
        b: version('b', 50, 'disabled'),
        c: version('c', 0),
        d: version('d', 1),
      },
      defaultVersion: 'c',
    });
    expect(new Set(assignments(target).values())).toEqual(new Set(['d']));
    expect(resolve(target, { headers: {}, random: () => 0 })).toMatchObject({ version: 'd', reason: 'weighted' });
  });

  it('without a key, chooses by weight with the injected random source', () => {
    const target = route({ versions: weights({ v1: 90, v2: 10 }) });
    expect(resolve(target, { headers: {}, random: () => 0 }).version).toBe('v1');
    expect(resolve(target, { headers: {}, random: () => 0.8999 }).version).toBe('v1');
    expect(resolve(target, { headers: {}, random: () => 0.9 }).version).toBe('v2');
    expect(resolve(target, { headers: {}, random: () => 0.9999 })).toMatchObject({ version: 'v2', reason: 'weighted' });
  });

  it('without a key, distributes by weight', () => {
    const random = seededRandom(42);
    const target = route({ versions: weights({ a: 5, b: 15, c: 80 }) });
    const request: ResolveRequest = { headers: {}, random };
    const tally = counts(Array.from({ length: 20_000 }, () => resolve(target, request).version));
    expect(Math.abs((tally.a ?? 0) / 20_000 - 0.05)).toBeLessThan(0.01);
    expect(Math.abs((tally.b ?? 0) / 20_000 - 0.15)).toBeLessThan(0.015);
    expect(Math.abs((tally.c ?? 0) / 20_000 - 0.8)).toBeLessThan(0.015);
  });
});

describe('resolve, step 4: default, then 503', () => {
  it('falls back to an active default version when no version has weight', () => {
    const target = route({ versions: weights({ v1: 0, v2: 0 }), defaultVersion: 'v2', rules: [] });
    expect(resolve(target, { key: 'alice', headers: {} })).toEqual({
      version: 'v2',
      url: 'https://v2.checkout.example.com',
      revision: 7,
      reason: 'default',
    });
  });

  it.each(['draining', 'disabled'] as const)('refuses with 503 when the default version is %s', (state) => {
    const target = route({ versions: { v1: version('v1', 0, state), v2: version('v2', 0) }, rules: [] });
    expect(() => resolve(target, { headers: {} })).toThrow(ServiceUnavailableError);
  });

  it('refuses with 503 when the route has no versions and no default', () => {
    const target = route({ versions: {}, rules: [], defaultVersion: undefined });
    const attempt = () => resolve(target, { key: 'alice', headers: {} });
    expect(attempt).toThrow(ServiceUnavailableError);
    expect(attempt).toThrow(expect.objectContaining({ status: 503 }));
  });
});

describe('weighted candidates per route object', () => {
  it('follows a new route object rather than serving the candidates of an earlier one', () => {
    const before = route({ versions: weights({ v1: 100, v2: 0 }), rules: [] });
    expect(resolve(before, { key: 'user-1', headers: {} }).version).toBe('v1');
    const after = route({ versions: weights({ v1: 0, v2: 100 }), rules: [] });
    expect(resolve(after, { key: 'user-1', headers: {} }).version).toBe('v2');
    // The first object still answers as it did: nothing was shared between the two.
    expect(resolve(before, { key: 'user-1', headers: {} }).version).toBe('v1');
  });
});
