/**
 * Writes ./vectors.json: the conformance vectors, from the hand-chosen routes and requests
 * below, with expectations from ./reference-resolve.ts (never from the engine under test).
 *
 *   npx tsx client/conformance/generate-vectors.ts
 *
 * Deterministic: the same source writes the same file (a unit test compares them).
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Route, Rule, Version, VersionState } from '../../shared/domain/route.schema.ts';
import { referenceBucket, referenceRanges, referenceResolve } from './reference-resolve.ts';
import { routeKeyOf, vectorsUrl, type ConformanceFile, type ConformanceRequest, type ConformanceVector } from './vectors.ts';

type VersionSpec = [weight: number, state?: VersionState];

interface RouteSpec {
  tenant?: string;
  service: string;
  env?: string;
  versions: Record<string, VersionSpec>;
  defaultVersion?: string;
  rules?: Rule[];
}

const TENANT = 'conformance';

function makeRoute(spec: RouteSpec): Route {
  const service = spec.service;
  const versions: Record<string, Version> = {};
  for (const [name, [weight, state = 'active']] of Object.entries(spec.versions)) {
    // The version in the path, not the host: names like `a_b` or `Z` are not host labels.
    versions[name] = { url: `https://${service}.conformance.example/${name}`, weight, state };
  }
  return {
    tenant: spec.tenant ?? TENANT,
    service,
    env: spec.env ?? 'prod',
    versions,
    ...(spec.defaultVersion === undefined ? {} : { defaultVersion: spec.defaultVersion }),
    rules: spec.rules ?? [],
    // Every route is written once into a fresh tenant by the HTTP test, so it is revision 1
    // there; the HTTP test compares revisions with what its write returned.
    revision: 1,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    updatedBy: 'conformance',
  };
}

/** Keys chosen for their bytes: multi-byte UTF-8, astral characters, NFC against NFD, URL syntax. */
const unusualKeys = [
  'ключ',
  '用户-7',
  '🚀',
  '😀😃😄',
  'e\u0301', // é as e + combining acute (NFD)...
  '\u00e9', // ...and precomposed (NFC): different bytes, so different buckets
  'Ünïcödé',
  'مرحبا',
  'a/b:c',
  '?x=1&y=2',
  '100%',
  'a+b',
  'with space',
  '#hash',
  '0',
  '-1',
  'x'.repeat(256),
];

const plainKeys = (count: number, prefix = 'user-'): string[] => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

/** The first key `<prefix><n>` whose bucket on `route` is `bucket` (a brute-force search). */
function keyForBucket(route: Route, bucket: number, prefix = 'b'): string {
  for (let index = 0; index < 1_000_000; index += 1) {
    const key = `${prefix}${bucket}-${index}`;
    if (referenceBucket(route, key) === bucket) return key;
  }
  throw new Error(`no key found for bucket ${bucket}`);
}

/** The buckets on both sides of each boundary between weighted candidates, and the ends. */
function boundaryBuckets(route: Route): number[] {
  const { ranges, total } = referenceRanges(route);
  const buckets = new Set<number>([0, 9999]);
  for (const range of ranges.slice(0, -1)) {
    // The first bucket of the next range is ceil(to * 10000 / total).
    const first = Math.ceil((range.to * 10000) / total);
    for (const bucket of [first - 1, first]) if (bucket >= 0 && bucket <= 9999) buckets.add(bucket);
  }
  return [...buckets].sort((a, b) => a - b);
}

class VectorSet {
  readonly routes: Record<string, Route> = {};
  readonly vectors: ConformanceVector[] = [];

  add(spec: RouteSpec): Route {
    const route = makeRoute(spec);
    const id = routeKeyOf(route);
    if (this.routes[id] !== undefined) throw new Error(`route ${id} twice`);
    this.routes[id] = route;
    return route;
  }

  check(route: Route | string, name: string, request: Partial<ConformanceRequest>): void {
    const id = typeof route === 'string' ? route : routeKeyOf(route);
    const full: ConformanceRequest = { headers: {}, ...request };
    this.vectors.push({ name: `${id}: ${name}`, route: id, request: full, expected: referenceResolve(this.routes[id], full) });
  }

  keys(route: Route, keys: readonly string[], headers: Record<string, string> = {}): void {
    for (const key of keys) this.check(route, `key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 12)}…(${key.length})` : key)}`, { key, headers });
  }

  boundaries(route: Route, buckets = boundaryBuckets(route)): void {
    for (const bucket of buckets) this.check(route, `bucket ${bucket}`, { key: keyForBucket(route, bucket) });
  }

  pins(route: Route, versions: readonly string[]): void {
    for (const version of versions) this.check(route, `pin ${version}`, { version });
  }

  keyless(route: Route, name = 'no key'): void {
    this.check(route, name, {});
  }
}

/** 50 version names whose code-unit order differs from a natural or locale order. */
const fiftyNames = [
  '0', '1.0', '10', '9z', 'A', 'B-2', 'V10', 'V2', 'Z_z', 'Zz', 'a', 'a-b', 'a.b', 'a_b', 'aB', 'ab', 'b', 'b1',
  'blue', 'canary', 'green', 'v1', 'v10', 'v11', 'v12', 'v2', 'v20', 'v3', 'v3.1', 'v3.10', 'v3.2', 'v3-rc', 'v3_rc',
  'x', 'x1', 'x2', 'x3', 'x4', 'x5', 'y', 'y1', 'y2', 'y3', 'z', 'z1', 'z2', 'z3', 'Z', 'Y', 'X',
];

export function buildConformanceFile(): ConformanceFile {
  const set = new VectorSet();

  // The API.md example: 90/10 with a canary rule.
  const checkout = { versions: { v1: [90] as VersionSpec, v2: [10] as VersionSpec }, defaultVersion: 'v1', rules: [{ header: 'x-canary', equals: '1', version: 'v2' }] };
  const main = set.add({ service: 'checkout', ...checkout });
  set.keys(main, [...plainKeys(8), 'alice', 'bob', 'carol', '42', ...unusualKeys]);
  set.boundaries(main);
  set.check(main, 'rule x-canary: 1 beats the key', { key: 'alice', headers: { 'x-canary': '1' } });
  set.check(main, 'rule header name in another case', { key: 'alice', headers: { 'X-Canary': '1' } });
  set.check(main, 'rule value differs: weighted', { key: 'alice', headers: { 'x-canary': '2' } });
  set.check(main, 'rule, no key', { headers: { 'X-CANARY': '1' } });
  set.check(main, 'pin beats the rule', { version: 'v1', headers: { 'x-canary': '1' } });
  set.pins(main, ['v1', 'v2', 'V1', 'v3']);
  set.keyless(main);
  set.check(main, 'empty key is refused', { key: '' });
  set.check(main, 'a 257-character key is refused', { key: 'k'.repeat(257) });
  set.check(main, 'a key of 256 emoji (512 UTF-16 units) is within 256 characters', { key: '🚀'.repeat(256) });
  set.check(main, 'a key of 257 emoji is refused', { key: '🚀'.repeat(257) });
  set.check(main, 'a version name out of pattern is refused', { version: '-v1' });

  // The same content elsewhere: tenant and env are part of the hashed text.
  const staging = set.add({ service: 'checkout', env: 'staging', ...checkout });
  set.keys(staging, [...plainKeys(6), 'ключ', '🚀', 'alice', 'bob']);
  const otherTenant = set.add({ tenant: 'conformance-b', service: 'checkout', ...checkout });
  set.keys(otherTenant, [...plainKeys(6), 'ключ', '🚀', 'alice', 'bob']);

  // Thirds: boundaries that fall between buckets (10000 / 3).
  const thirds = set.add({ service: 'thirds', versions: { a: [1], b: [1], c: [1] } });
  set.boundaries(thirds);
  set.keys(thirds, plainKeys(6));

  // Weights of 0, draining and disabled versions: only v2 takes weighted traffic.
  const zero = set.add({
    service: 'zero-weights',
    versions: { v1: [0], v2: [100], v3: [0], v4: [50, 'draining'], v5: [50, 'disabled'] },
    defaultVersion: 'v1',
  });
  set.keys(zero, [...plainKeys(6), 'ключ', '🚀']);
  set.pins(zero, ['v1', 'v3', 'v4', 'v5', 'v6']);
  set.keyless(zero);

  // Every weight 0: the default decides.
  const allZero = set.add({ service: 'all-zero', versions: { v1: [0], v2: [0] }, defaultVersion: 'v2' });
  set.keys(allZero, plainKeys(3));
  set.keyless(allZero);
  set.pins(allZero, ['v1']);

  // No default and nothing weighted: 503; pins still work.
  const noDefault = set.add({ service: 'no-default', versions: { v1: [0], v2: [100, 'draining'] } });
  set.keys(noDefault, plainKeys(3));
  set.keyless(noDefault);
  set.pins(noDefault, ['v1', 'v2']);

  // A default that is draining is not used: 503.
  const defaultDraining = set.add({ service: 'default-draining', versions: { v1: [100, 'draining'], v2: [100, 'disabled'] }, defaultVersion: 'v1' });
  set.keys(defaultDraining, plainKeys(3));
  set.pins(defaultDraining, ['v1', 'v2']);

  // A default that is disabled: 503, and its pin is 404.
  const defaultDisabled = set.add({ service: 'default-disabled', versions: { v1: [0, 'disabled'] }, defaultVersion: 'v1' });
  set.keys(defaultDisabled, plainKeys(2));
  set.pins(defaultDisabled, ['v1']);

  // No versions at all.
  const empty = set.add({ service: 'empty', versions: {} });
  set.keys(empty, plainKeys(1));
  set.keyless(empty);
  set.pins(empty, ['v1']);

  // Rules: order, case-insensitive names, exact values, targets that are not active.
  const rules = set.add({
    service: 'rules',
    versions: { stable: [100], gold: [0], silver: [0], beta: [0, 'draining'], beta2: [0, 'disabled'], eu: [0], exact: [0] },
    defaultVersion: 'stable',
    rules: [
      { header: 'x-tier', equals: 'gold', version: 'gold' },
      { header: 'x-tier', equals: 'gold', version: 'silver' },
      { header: 'x-tier', equals: 'silver', version: 'silver' },
      { header: 'x-beta', equals: 'yes', version: 'beta' },
      { header: 'x-beta', equals: 'yes', version: 'beta2' },
      { header: 'x-beta', equals: 'yes', version: 'exact' },
      { header: 'X-Region', equals: 'EU', version: 'eu' },
      { header: 'x-case', equals: 'Value', version: 'exact' },
    ],
  });
  const ruleRequests: [string, Record<string, string>][] = [
    ['first matching rule wins', { 'x-tier': 'gold' }],
    ['another value, another rule', { 'x-tier': 'silver' }],
    ['values are case-sensitive', { 'x-tier': 'Gold' }],
    ['draining and disabled targets are skipped', { 'x-beta': 'yes' }],
    ['rule header written X-Region, sent lower-case', { 'x-region': 'EU' }],
    ['rule header written X-Region, sent upper-case', { 'X-REGION': 'EU' }],
    ['value eu is not EU', { 'x-region': 'eu' }],
    ['exact value Value', { 'x-case': 'Value' }],
    ['value is not Value', { 'x-case': 'value' }],
    ['two matching headers: the earlier rule wins', { 'x-region': 'EU', 'x-tier': 'gold' }],
    ['x-beta before X-Region', { 'x-region': 'EU', 'x-beta': 'yes' }],
    ['an unknown value', { 'x-tier': 'platinum' }],
    ['an unrelated header', { 'x-other': 'gold' }],
  ];
  for (const [name, headers] of ruleRequests) {
    set.check(rules, name, { headers });
    set.check(rules, `${name}, with a key`, { key: 'alice', headers });
  }
  set.check(rules, 'pin a draining version despite a rule', { version: 'beta', headers: { 'x-tier': 'gold' } });
  set.check(rules, 'pin a disabled version: 404', { version: 'beta2', headers: { 'x-tier': 'gold' } });
  set.keyless(rules);

  // Rules whose only active target is reachable by a rule; otherwise nothing: 503.
  const rulesOnly = set.add({
    service: 'rules-no-traffic',
    versions: { v1: [0], v2: [0, 'draining'] },
    rules: [
      { header: 'x-go', equals: '1', version: 'v1' },
      { header: 'x-drain', equals: '1', version: 'v2' },
    ],
  });
  set.check(rulesOnly, 'rule to an active version', { headers: { 'x-go': '1' } });
  set.check(rulesOnly, 'rule to a draining version: nothing else, 503', { headers: { 'x-drain': '1' } });
  set.check(rulesOnly, 'no header: 503', { key: 'alice' });
  set.pins(rulesOnly, ['v2']);

  // 50 versions: code-unit order, weights from 0 to 10000, every state.
  const weightCycle = [0, 1, 7, 100, 250, 999, 10000, 3, 42, 500];
  const fiftyVersions: Record<string, VersionSpec> = {};
  fiftyNames.forEach((name, index) => {
    const state: VersionState = index % 11 === 5 ? 'draining' : index % 13 === 7 ? 'disabled' : 'active';
    fiftyVersions[name] = [weightCycle[index % weightCycle.length] ?? 0, state];
  });
  const fifty = set.add({ service: 'fifty', versions: fiftyVersions, defaultVersion: '0' });
  set.keys(fifty, [...plainKeys(30), ...unusualKeys.slice(0, 8)]);
  set.boundaries(fifty);
  // Indexes 5 and 16 are draining, 7 and 20 disabled (see the state rule above).
  set.pins(fifty, ['0', 'Z', 'v3.10', 'v3_rc', ...[5, 7, 16, 20].map((index) => fiftyNames[index] ?? ''), 'nope']);
  set.keyless(fifty);

  // Code-unit order on four names: V3 < a < v10 < v2 (not v2 < V3 < v10).
  const order = set.add({ service: 'order', versions: { v10: [1], v2: [1], V3: [1], a: [1] } });
  set.boundaries(order);
  set.keys(order, plainKeys(4));

  // 50 rules; targets cycle through active, draining and disabled.
  const fiftyRules = set.add({
    service: 'fifty-rules',
    versions: { main: [100], t0: [0], t1: [0, 'draining'], t2: [0, 'disabled'] },
    defaultVersion: 'main',
    rules: Array.from({ length: 50 }, (_, index) => ({ header: `x-r${index}`, equals: String(index), version: `t${index % 3}` })),
  });
  for (const index of [0, 1, 2, 47, 48, 49]) set.check(fiftyRules, `rule ${index}`, { key: 'alice', headers: { [`x-r${index}`]: String(index) } });
  set.check(fiftyRules, 'rule 0 with a wrong value', { key: 'alice', headers: { 'x-r0': '1' } });
  set.check(fiftyRules, 'every rule header: the first rule wins', {
    key: 'alice',
    headers: Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`x-r${49 - index}`, String(49 - index)])),
  });

  // Largest weights, and slices of one bucket or less.
  const maxWeights = set.add({ service: 'max-weights', versions: { a: [1], b: [10000], c: [10000], d: [1] } });
  set.boundaries(maxWeights, [0, 1, 4999, 5000, 5001, 9998, 9999]);
  set.keys(maxWeights, plainKeys(3));

  // One version.
  const single = set.add({ service: 'single', versions: { only: [1] } });
  set.keys(single, plainKeys(2));
  set.keyless(single);

  // A route that does not exist.
  const absent = `${TENANT}/absent/prod`;
  set.check(absent, 'no such route, with a key', { key: 'alice' });
  set.check(absent, 'no such route, pinned', { version: 'v1' });
  set.check(absent, 'no such route, no key', {});

  return {
    description:
      'traffic-manager resolve conformance vectors (API.md, Resolve): for each vector, resolving `request` against ' +
      'routes[vector.route] must give `expected` (a keyless weighted answer may be any of `oneOf`). ' +
      'Generated by client/conformance/generate-vectors.ts.',
    routes: set.routes,
    vectors: set.vectors,
  };
}

export function serialiseConformanceFile(file: ConformanceFile): string {
  return `${JSON.stringify(file, null, 1)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = buildConformanceFile();
  writeFileSync(vectorsUrl, serialiseConformanceFile(file));
  console.log(`${file.vectors.length} vectors over ${Object.keys(file.routes).length} routes written to ${vectorsUrl.pathname}`);
}
