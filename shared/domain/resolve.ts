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

/**
 * The number of sticky buckets. Code here uses this module-local constant, which V8 folds
 * into the hot path's `%`; the exported binding is read through a module cell, and `% BUCKETS`
 * cost a hardware division per decision (measured: about a quarter of a decision).
 */
const bucketCount = 10_000;

/** Number of sticky buckets: a bucket is in 0..BUCKETS-1. */
export const BUCKETS = bucketCount;

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

/**
 * Continues an FNV-1a 32 state over the UTF-8 bytes of `text`, encoding UTF-16 to UTF-8
 * inline so that nothing is allocated (TextEncoder.encode allocated a buffer per key, which
 * was most of the cost of a decision). Byte-identical to hashing `TextEncoder.encode(text)`:
 * a lone surrogate becomes U+FFFD (EF BF BD), as TextEncoder writes it.
 *
 * This part hashes ASCII and hands the rest of the string to `fnv1aUtf8From` at the first
 * other char; it stays small enough for V8 to inline into `resolve`.
 */
function fnv1aUtf8(state: number, text: string): number {
  // `| 0`: the offset basis is above 2^31, so a double; starting from an int32 keeps the
  // loop's state in integer registers (measured: about 7% off a decision).
  let hash = state | 0;
  const length = text.length;
  let index = 0;
  // Four chars a step: one test per four bytes instead of one per byte (measured: about 10%
  // off a decision for a 24-char key; eight a step was slower). A step with a non-ASCII char
  // is left to the loop below from its first char, so the bytes hashed are the same.
  for (; index + 3 < length; index += 4) {
    const c0 = text.charCodeAt(index);
    const c1 = text.charCodeAt(index + 1);
    const c2 = text.charCodeAt(index + 2);
    const c3 = text.charCodeAt(index + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    hash = Math.imul(hash ^ c0, FNV_PRIME);
    hash = Math.imul(hash ^ c1, FNV_PRIME);
    hash = Math.imul(hash ^ c2, FNV_PRIME);
    hash = Math.imul(hash ^ c3, FNV_PRIME);
  }
  for (; index < length; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 0x80) return fnv1aUtf8From(hash, text, index);
    hash = Math.imul(hash ^ code, FNV_PRIME);
  }
  return hash;
}

/** `fnv1aUtf8` from `text[start]` on, any char: each encoded to its UTF-8 bytes. */
function fnv1aUtf8From(state: number, text: string, start: number): number {
  let hash = state;
  const length = text.length;
  for (let index = start; index < length; index += 1) {
    let code = text.charCodeAt(index);
    if (code < 0x80) {
      hash = Math.imul(hash ^ code, FNV_PRIME);
      continue;
    }
    if (code < 0x800) {
      hash = Math.imul(hash ^ (0xc0 | (code >> 6)), FNV_PRIME);
      hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), FNV_PRIME);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = index + 1 < length ? text.charCodeAt(index + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        index += 1;
        hash = Math.imul(hash ^ (0xf0 | (point >> 18)), FNV_PRIME);
        hash = Math.imul(hash ^ (0x80 | ((point >> 12) & 0x3f)), FNV_PRIME);
        hash = Math.imul(hash ^ (0x80 | ((point >> 6) & 0x3f)), FNV_PRIME);
        hash = Math.imul(hash ^ (0x80 | (point & 0x3f)), FNV_PRIME);
        continue;
      }
      code = 0xfffd;
    }
    hash = Math.imul(hash ^ (0xe0 | (code >> 12)), FNV_PRIME);
    hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), FNV_PRIME);
    hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), FNV_PRIME);
  }
  return hash;
}

/** FNV-1a 32 of the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  return fnv1aUtf8(FNV_OFFSET_BASIS, text) >>> 0;
}

/** The FNV state after `tenant/service/env:`, the part of every key's input a route fixes. */
function keyPrefixState(route: Pick<Route, 'tenant' | 'service' | 'env'>): number {
  return fnv1aUtf8(FNV_OFFSET_BASIS, `${route.tenant}/${route.service}/${route.env}:`);
}

/** The sticky bucket (0..9999) of a caller key on one route. */
export function stickyBucket(route: Pick<Route, 'tenant' | 'service' | 'env'>, key: string): number {
  return (fnv1aUtf8(keyPrefixState(route), key) >>> 0) % bucketCount;
}

/** Active versions with weight > 0, in the stable order of the bucket contract (by name). */
function weightedCandidates(route: Pick<Route, 'versions'>): readonly [string, Version][] {
  return Object.entries(route.versions)
    .filter(([, version]) => version.state === 'active' && version.weight > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * What a route's revision is compiled to, once: everything the resolution of one request
 * needs that does not depend on the request.
 */
interface CompiledRoute {
  /** FNV state after the key prefix `tenant/service/env:`. */
  prefixState: number;
  /** The weighted candidates, in name order, each with its answer for reason `weighted`. */
  weighted: readonly Resolution[];
  /**
   * `upperBuckets[i]`: the first bucket past candidate `i`'s range. Bucket `b` belongs to
   * the first `i` with `b * total < cum_i * BUCKETS`, that is `b < ceil(cum_i * BUCKETS / total)`.
   */
  upperBuckets: Int32Array;
  /**
   * With many candidates, the candidate of every bucket (10,000 bytes), so that a sticky
   * decision costs the same with 50 versions as with 2: a binary search's mispredicted
   * branches grow with the number of versions. Undefined with few candidates.
   */
  bucketTable: Uint8Array | undefined;
  /** Cumulative weights, for keyless choices: the first `i` with `point * total < cum_i`. */
  cumulative: Float64Array;
  total: number;
  /** Rules with lower-cased header names and their answer, only those whose version is active. */
  rules: readonly { header: string; equals: string; answer: Resolution }[];
  /** The default version's answer, if it is active. */
  fallback: Resolution | undefined;
}

/**
 * Routes are never mutated (the cache serves one object per loaded revision), so a route is
 * compiled once per object; the WeakMap lets a replaced revision's compilation go with it.
 */
const compiledRoutes = new WeakMap<Route, CompiledRoute>();

function answer(route: Route, name: string, version: Version, reason: ResolveReason): Resolution {
  return { version: name, url: version.url, revision: route.revision, reason };
}

/**
 * Above this many weighted candidates a route gets a bucket table. A route has at most 50
 * versions (API.md), so an index fits a byte.
 */
const tableThreshold = 4;

function compile(route: Route): CompiledRoute {
  const candidates = weightedCandidates(route);
  const total = candidates.reduce((sum, [, version]) => sum + version.weight, 0);
  const upperBuckets = new Int32Array(candidates.length);
  const cumulative = new Float64Array(candidates.length);
  let running = 0;
  candidates.forEach(([, version], index) => {
    running += version.weight;
    cumulative[index] = running;
    // Exact: both operands are integers well below 2^53, and a non-integer quotient is at
    // least 1/total away from an integer, far above the rounding error.
    upperBuckets[index] = Math.ceil((running * bucketCount) / total);
  });
  const { versions } = route;
  const active = (name: string): Version | undefined => {
    const version = Object.hasOwn(versions, name) ? versions[name] : undefined;
    return version?.state === 'active' ? version : undefined;
  };
  const rules: CompiledRoute['rules'][number][] = [];
  for (const rule of route.rules) {
    const target = active(rule.version);
    // A rule whose version is not active never wins; dropping it changes no answer.
    if (target !== undefined) {
      rules.push({ header: rule.header.toLowerCase(), equals: rule.equals, answer: answer(route, rule.version, target, 'rule') });
    }
  }
  const fallbackVersion = route.defaultVersion === undefined ? undefined : active(route.defaultVersion);
  let bucketTable: Uint8Array | undefined;
  if (candidates.length > tableThreshold) {
    bucketTable = new Uint8Array(bucketCount);
    let from = 0;
    upperBuckets.forEach((upper, index) => {
      bucketTable?.fill(index, from, upper);
      from = upper;
    });
  }
  return {
    prefixState: keyPrefixState(route),
    weighted: candidates.map(([name, version]) => answer(route, name, version, 'weighted')),
    upperBuckets,
    bucketTable,
    cumulative,
    total,
    rules,
    fallback:
      fallbackVersion === undefined || route.defaultVersion === undefined
        ? undefined
        : answer(route, route.defaultVersion, fallbackVersion, 'default'),
  };
}

/** The last route resolved and its plan: a WeakMap lookup costs more than the rest of a decision. */
let lastRoute: Route | undefined;
let lastPlan: CompiledRoute | undefined;

function compiled(route: Route): CompiledRoute {
  if (route === lastRoute && lastPlan !== undefined) return lastPlan;
  let result = compiledRoutes.get(route);
  if (result === undefined) {
    result = compile(route);
    compiledRoutes.set(route, result);
  }
  lastRoute = route;
  lastPlan = result;
  return result;
}

/** The first index `i` with `value < bounds[i]` (bounds ascending), or the last index. */
function firstAbove(bounds: Int32Array | Float64Array, value: number): number {
  let low = 0;
  let high = bounds.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value < (bounds[middle] as number)) high = middle;
    else low = middle + 1;
  }
  // For a point in [0, 1) some bound is above it; a `random` returning 1 gets the last one.
  return low;
}

/**
 * A header's value by lower-case name. The handler passes headers already lower-cased, so
 * the direct lookup nearly always decides; otherwise names are compared case-insensitively.
 */
function headerValue(headers: ResolveRequest['headers'], lowerName: string): string | undefined {
  // `typeof`, not `!== undefined`: a rule on `constructor` must not read Object.prototype's.
  const direct = headers[lowerName];
  if (typeof direct === 'string') return direct;
  for (const name in headers) {
    if (name.length === lowerName.length && name !== lowerName && name.toLowerCase() === lowerName) {
      const value = headers[name];
      if (typeof value === 'string') return value;
    }
  }
  return undefined;
}

/** A copy of a compiled answer: callers may keep or change what they get. */
function copy(resolution: Resolution): Resolution {
  return { version: resolution.version, url: resolution.url, revision: resolution.revision, reason: resolution.reason };
}

/**
 * The pinned step, out of line: with it and a `for...of` over the rules inside, `resolve`
 * was 492 bytes of bytecode, over the 460 up to which V8 inlines a function into its caller
 * (then the caller's request object need not be allocated); 289 now.
 */
function pinned(route: Route, name: string): Resolution {
  const { versions } = route;
  const version = Object.hasOwn(versions, name) ? versions[name] : undefined;
  if (version === undefined || version.state === 'disabled') {
    throw new NotFoundError(`Version '${name}' of this route cannot be resolved.`);
  }
  return answer(route, name, version, 'pinned');
}

/**
 * Resolves a request against a route (API.md, Resolve), in order: pin, rules, weighted
 * (sticky with a key, see the module comment), default.
 *
 * @throws NotFoundError when the pinned version is absent or `disabled`.
 * @throws ServiceUnavailableError when no step yields a version.
 */
export function resolve(route: Route, request: ResolveRequest): Resolution {
  if (request.version !== undefined) return pinned(route, request.version);

  const plan = compiled(route);
  // An index loop: `for...of` adds iterator-closing code, 100 bytes of bytecode (see `pinned`).
  const { rules } = plan;
  for (let index = 0; index < rules.length; index += 1) {
    const rule = rules[index] as CompiledRoute['rules'][number];
    if (headerValue(request.headers, rule.header) === rule.equals) return copy(rule.answer);
  }

  if (plan.weighted.length > 0) {
    let index: number;
    if (request.key !== undefined) {
      const bucket = (fnv1aUtf8(plan.prefixState, request.key) >>> 0) % bucketCount;
      index = plan.bucketTable === undefined ? firstAbove(plan.upperBuckets, bucket) : (plan.bucketTable[bucket] as number);
    } else {
      index = firstAbove(plan.cumulative, (request.random ?? Math.random)() * plan.total);
    }
    const chosen = plan.weighted[index];
    if (chosen !== undefined) return copy(chosen);
  }

  if (plan.fallback !== undefined) return copy(plan.fallback);
  throw new ServiceUnavailableError('No version of this route can take traffic.');
}
