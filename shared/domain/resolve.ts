/**
 * Resolution: which upstream a caller should use now (API.md, Resolve). A pure function of
 * the route and the request, with no I/O, so that the resolve function and a data plane
 * resolving locally from a snapshot give the same answer for the same input.
 *
 * ## The sticky-bucket contract (data planes that resolve locally must match it)
 *
 * With a caller key, the weighted step is deterministic:
 *
 * 1. `hash = FNV-1a 32` (offset basis 0x811c9dc5, prime 0x01000193) over the UTF-8 bytes of
 *    `${tenant}/${service}/${env}:${key}`, as an unsigned 32-bit integer.
 * 2. `bucket = hash % 10000` (0..9999; the modulo bias is below 1e-6 and accepted).
 * 3. The candidates are the `active` versions with weight > 0, sorted by version name in
 *    code-unit order (JavaScript's default sort, which is byte order for the ASCII names a
 *    version may have). Let `total` be the sum of their weights and `cum_i` the cumulative
 *    weight up to and including candidate `i`.
 * 4. The key gets the first candidate `i` with `bucket * total < cum_i * 10000`, that is
 *    `bucket / 10000 < cum_i / total`. Integer arithmetic, no rounding.
 *
 * ## What stays put when weights change
 *
 * Each candidate owns the half-open interval `[cum_{i-1}, cum_i) / total` of the unit range,
 * in name order. Hence, for a route whose other content is unchanged:
 * - The same key always gets the same version (no randomness, no clock).
 * - **Shifting weight between two versions that are adjacent in name order** (among the
 *   candidates) while the total stays the same moves exactly the keys in the shifted share,
 *   and only from the version that gave weight to the one that took it. Raising a canary
 *   from 10 to 20 while lowering the other version from 90 to 80 keeps every key that was on
 *   the canary on it. With two candidates every shift is such a shift.
 * - Shifting weight between two versions that are **not** adjacent (v1 → v3 with v2 in
 *   between) keeps the total but slides the interval of every version in between: keys
 *   within `delta / total` of each moved boundary change version, so up to `delta / total`
 *   of the keys per crossed boundary move, some of them between versions whose weights did
 *   not change. Do such shifts in adjacent steps, or name versions so that the two versions
 *   of a rollout sort next to each other.
 * - A change of the total (a weight raised without lowering another, a version activated,
 *   drained or disabled) rescales every interval: keys near every boundary may move.
 */
import { NotFoundError, ServiceUnavailableError } from '../errors/http-errors.ts';
import type { Route, Version } from './route.schema.ts';

/** Which step decided, in the order of API.md. */
export const resolveReasons = ['pinned', 'rule', 'weighted', 'default'] as const;
export type ResolveReason = (typeof resolveReasons)[number];

export interface Resolution {
  version: string;
  url: string;
  revision: number;
  reason: ResolveReason;
}

/** Number of sticky buckets: a bucket is in 0..BUCKETS-1. */
export const BUCKETS = 10_000;

export interface ResolveRequest {
  /** Caller key for stickiness (`?key=`). */
  key?: string | undefined;
  /** Pinned version (`?version=`). */
  version?: string | undefined;
  /** Request headers, any case; they feed the rules. */
  headers: Readonly<Record<string, string | undefined>>;
  /** A number in [0, 1) for keyless weighted choices. @default Math.random */
  random?: () => number;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** FNV-1a 32 of the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The sticky bucket (0..9999) of a caller key on one route. */
export function stickyBucket(route: Pick<Route, 'tenant' | 'service' | 'env'>, key: string): number {
  return fnv1a32(`${route.tenant}/${route.service}/${route.env}:${key}`) % BUCKETS;
}

/** Active versions with weight > 0, in the stable order of the bucket contract (by name). */
export function weightedCandidates(route: Pick<Route, 'versions'>): readonly [string, Version][] {
  // Routes are never mutated (the cache serves one object until it reloads), so the sorted
  // candidates are computed once per route object, not once per request.
  let candidates = candidatesByVersions.get(route.versions);
  if (candidates === undefined) {
    candidates = Object.entries(route.versions)
      .filter(([, version]) => version.state === 'active' && version.weight > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    candidatesByVersions.set(route.versions, candidates);
  }
  return candidates;
}

const candidatesByVersions = new WeakMap<Route['versions'], [string, Version][]>();

/** The first candidate whose cumulative weight (with the total) satisfies `below`. */
function pick(candidates: readonly [string, Version][], below: (cumulative: number, total: number) => boolean): [string, Version] | undefined {
  const total = candidates.reduce((sum, [, version]) => sum + version.weight, 0);
  let cumulative = 0;
  for (const candidate of candidates) {
    cumulative += candidate[1].weight;
    if (below(cumulative, total)) return candidate;
  }
  // Unreachable for a fraction in [0, 1); kept for a `random` that returns 1.
  return candidates.at(-1);
}

function lowerCaseHeaders(headers: ResolveRequest['headers']): Map<string, string> {
  const lowered = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) lowered.set(name.toLowerCase(), value);
  }
  return lowered;
}

function answer(route: Route, name: string, version: Version, reason: ResolveReason): Resolution {
  return { version: name, url: version.url, revision: route.revision, reason };
}

/**
 * Resolves a request against a route (API.md, Resolve), in order: pin, rules, weighted
 * (sticky with a key, see the module comment), default.
 *
 * @throws NotFoundError when the pinned version is absent or `disabled`.
 * @throws ServiceUnavailableError when no step yields a version.
 */
export function resolve(route: Route, request: ResolveRequest): Resolution {
  const { versions } = route;

  if (request.version !== undefined) {
    const pinned = Object.hasOwn(versions, request.version) ? versions[request.version] : undefined;
    if (pinned === undefined || pinned.state === 'disabled') {
      throw new NotFoundError(`Version '${request.version}' of this route cannot be resolved.`);
    }
    return answer(route, request.version, pinned, 'pinned');
  }

  if (route.rules.length > 0) {
    const headers = lowerCaseHeaders(request.headers);
    for (const rule of route.rules) {
      if (headers.get(rule.header.toLowerCase()) !== rule.equals) continue;
      const target = Object.hasOwn(versions, rule.version) ? versions[rule.version] : undefined;
      if (target?.state === 'active') return answer(route, rule.version, target, 'rule');
    }
  }

  const candidates = weightedCandidates(route);
  if (candidates.length > 0) {
    let chosen: [string, Version] | undefined;
    if (request.key !== undefined) {
      const bucket = stickyBucket(route, request.key);
      chosen = pick(candidates, (cumulative, total) => bucket * total < cumulative * BUCKETS);
    } else {
      const point = (request.random ?? Math.random)();
      chosen = pick(candidates, (cumulative, total) => point * total < cumulative);
    }
    if (chosen !== undefined) return answer(route, chosen[0], chosen[1], 'weighted');
  }

  const fallback = route.defaultVersion;
  if (fallback !== undefined && Object.hasOwn(versions, fallback)) {
    const version = versions[fallback];
    if (version?.state === 'active') return answer(route, fallback, version, 'default');
  }
  throw new ServiceUnavailableError('No version of this route can take traffic.');
}
