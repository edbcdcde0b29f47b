/**
 * Properties of the resolution engine, over generated routes and keys (fast-check): the
 * compiled engine answers exactly as the reference definition of the sticky-bucket contract
 * (TextEncoder + FNV-1a 32 + a linear walk over cumulative weights), the same key on the same
 * revision always gets the same version, growing a canary keeps its keys, shares follow
 * weights, and draining or disabled versions never win by weight.
 */
import fc from 'fast-check';
import { BUCKETS, fnv1a32, resolve, stickyBucket } from '#shared/domain/resolve';
import type { Route, Version, VersionState } from '#shared/domain/route.schema';

/** The contract as written in shared/domain/resolve.ts, slowly and plainly. */
function referenceHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

function referenceWeighted(route: Route, key: string): string | undefined {
  const candidates = Object.entries(route.versions)
    .filter(([, version]) => version.state === 'active' && version.weight > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const total = candidates.reduce((sum, [, version]) => sum + version.weight, 0);
  const bucket = referenceHash(`${route.tenant}/${route.service}/${route.env}:${key}`) % BUCKETS;
  let cumulative = 0;
  for (const [name, version] of candidates) {
    cumulative += version.weight;
    if (bucket * total < cumulative * BUCKETS) return name;
  }
  return undefined;
}

function route(versions: Record<string, Version>, overrides: Partial<Route> = {}): Route {
  return {
    tenant: 'acme',
    service: 'checkout',
    env: 'prod',
    versions,
    rules: [],
    revision: 1,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T11:00:00.000Z',
    updatedBy: 'user-123',
    ...overrides,
  };
}

const version = (name: string, weight: number, state: VersionState = 'active'): Version => ({
  url: `https://${name}.example.com`,
  weight,
  state,
});

/** Any UTF-16 string, lone surrogates included (a JavaScript caller can pass one). */
const utf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((codes) => String.fromCharCode(...codes));
const anyKey = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), utf16);
const versionName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,8}$/);
const state = fc.constantFrom<VersionState>('active', 'draining', 'disabled');

/** 1..8 versions with any weights and states. */
const versionsArbitrary = fc.dictionary(
  versionName,
  fc.record({ weight: fc.integer({ min: 0, max: 10_000 }), state }),
  { minKeys: 1, maxKeys: 8 },
);

function toVersions(spec: Record<string, { weight: number; state: VersionState }>): Record<string, Version> {
  return Object.fromEntries(Object.entries(spec).map(([name, { weight, state: s }]) => [name, version(name, weight, s)]));
}

describe('the compiled engine against the reference contract', () => {
  it('hashes every string exactly as FNV-1a 32 over its TextEncoder bytes', () => {
    fc.assert(
      fc.property(anyKey, (key) => {
        expect(fnv1a32(key)).toBe(referenceHash(key));
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes surrogate pairs, lone surrogates and multi-byte characters as TextEncoder does', () => {
    for (const key of ['\ud83d\ude00', '\ud83d', '\ude00', 'a\ud83dz', '\ude00\ud83d', 'é', '€', '\u07ff', '\u0800', '\uffff']) {
      expect(fnv1a32(key)).toBe(referenceHash(key));
    }
  });

  it('hashes a non-ASCII character wherever it falls against the four-char ASCII steps', () => {
    // The hash reads ASCII four chars at a time and hands a step with any other char to the
    // per-char loop: every offset of such a char within and across steps, at every length.
    for (const special of ['\ud83d\ude00', '\ud83d', '\ude00', 'é', '€', '\u0080', '\u07ff', '\u0800', '\uffff']) {
      for (let before = 0; before <= 9; before += 1) {
        for (let after = 0; after <= 5; after += 1) {
          const key = `${'abcdefghij'.slice(0, before)}${special}${'KLMNO'.slice(0, after)}`;
          expect(fnv1a32(key)).toBe(referenceHash(key));
          expect(fnv1a32(`${key}${special}${key}`)).toBe(referenceHash(`${key}${special}${key}`));
        }
      }
    }
  });

  it('picks the version the reference picks, for any route and key', () => {
    fc.assert(
      fc.property(versionsArbitrary, anyKey, (spec, key) => {
        const target = route(toVersions(spec));
        const expected = referenceWeighted(target, key);
        if (expected === undefined) return;
        const answer = resolve(target, { key, headers: {} });
        expect(answer).toEqual({ version: expected, url: `https://${expected}.example.com`, revision: 1, reason: 'weighted' });
        expect(stickyBucket(target, key)).toBe(referenceHash(`acme/checkout/prod:${key}`) % BUCKETS);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('rules on header names that Object.prototype also has', () => {
  it('matches a rule on `constructor` only when the request sends that header', () => {
    const target = route(
      { v1: version('v1', 100), v2: version('v2', 0) },
      { rules: [{ header: 'Constructor', equals: 'x', version: 'v2' }], defaultVersion: 'v1' },
    );
    expect(resolve(target, { key: 'a', headers: {} }).version).toBe('v1');
    expect(resolve(target, { key: 'a', headers: { constructor: 'x' } }).version).toBe('v2');
    expect(resolve(target, { key: 'a', headers: { CONSTRUCTOR: 'x' } }).version).toBe('v2');
  });
});

describe('the bucket table of routes with many versions', () => {
  it('picks what the reference picks with 5 to 50 weighted versions', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 5, maxLength: 50 }), (weights) => {
        const target = route(Object.fromEntries(weights.map((weight, index) => [`v${index}`, version(`v${index}`, weight)])));
        for (let index = 0; index < 500; index += 1) {
          const key = `user-${index}`;
          const expected = referenceWeighted(target, key);
          if (expected === undefined) return;
          expect(resolve(target, { key, headers: {} }).version).toBe(expected);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('stickiness properties', () => {
  it('gives the same key the same version on the same revision, also from a copy of the route', () => {
    fc.assert(
      fc.property(versionsArbitrary, anyKey, (spec, key) => {
        const target = route(toVersions(spec));
        if (referenceWeighted(target, key) === undefined) return;
        const first = resolve(target, { key, headers: {} });
        expect(resolve(target, { key, headers: {} })).toEqual(first);
        expect(resolve(structuredClone(target), { key, headers: {} })).toEqual(first);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps every key of a canary on it when the canary grows', () => {
    const keys = Array.from({ length: 2000 }, (_, index) => `user-${index}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(versionName, { minLength: 2, maxLength: 2 }),
        fc.integer({ min: 1, max: 9_999 }),
        fc.integer({ min: 1, max: 9_999 }),
        fc.boolean(),
        ([canary, stable], before, grownBy, keepTotal) => {
          if (canary === undefined || stable === undefined) return;
          const after = Math.min(10_000, before + grownBy);
          const stableBefore = 10_000 - before;
          // Either the other version gives the weight (total unchanged) or it keeps its own.
          const stableAfter = keepTotal ? Math.max(0, 10_000 - after) : stableBefore;
          const small = route({ [canary]: version(canary, before), [stable]: version(stable, stableBefore) });
          const grown = route({ [canary]: version(canary, after), [stable]: version(stable, stableAfter) }, { revision: 2 });
          for (const key of keys) {
            if (resolve(small, { key, headers: {} }).version === canary) {
              expect(resolve(grown, { key, headers: {} }).version).toBe(canary);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("gives each version a share of 100,000 keys within 1 percentage point of its weight's share", () => {
    const keys = Array.from({ length: 100_000 }, (_, index) => `customer-${index}`);
    fc.assert(
      fc.property(
        fc.dictionary(versionName, fc.integer({ min: 1, max: 10_000 }), { minKeys: 1, maxKeys: 6 }),
        fc.string({ minLength: 1, maxLength: 12 }),
        (weights, keyPrefix) => {
          const target = route(toVersions(Object.fromEntries(Object.entries(weights).map(([n, w]) => [n, { weight: w, state: 'active' }]))));
          const tally = new Map<string, number>();
          for (const key of keys) {
            const chosen = resolve(target, { key: keyPrefix + key, headers: {} }).version;
            tally.set(chosen, (tally.get(chosen) ?? 0) + 1);
          }
          const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
          for (const [name, weight] of Object.entries(weights)) {
            expect(Math.abs((tally.get(name) ?? 0) / keys.length - weight / total)).toBeLessThanOrEqual(0.01);
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('never chooses a draining or disabled version by weight, with or without a key', () => {
    fc.assert(
      fc.property(versionsArbitrary, anyKey, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (spec, key, point) => {
        const target = route(toVersions(spec));
        // A route with no weighted candidate has nothing to choose by weight (503 or default).
        fc.pre(Object.values(target.versions).some((v) => v.state === 'active' && v.weight > 0));
        for (const answer of [resolve(target, { key, headers: {} }), resolve(target, { headers: {}, random: () => point })]) {
          expect(answer.reason).toBe('weighted');
          const chosen = target.versions[answer.version];
          expect(chosen?.state).toBe('active');
          expect(chosen?.weight).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
