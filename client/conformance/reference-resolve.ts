/**
 * A second, independent reading of API.md "Resolve", used only to compute the expected
 * decisions of the conformance vectors. It deliberately shares no code with the engine
 * (shared/domain/resolve.ts) and is written differently where it can be (BigInt FNV,
 * explicit bucket ranges, a hand-written code-unit comparison), so that a bug in one is not
 * silently copied into the expectations of the other.
 *
 * What it implements, in order:
 * 0. The endpoint's input rules: a key of 1..256 characters (Unicode code points, as the
 *    endpoint's schema counts them), a version name matching
 *    `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`; anything else is 400. A route that does not exist is 404.
 * 1. Pin: the version exists and is active or draining → pinned; disabled or absent → 404.
 * 2. Rules in order: the first whose header (name compared case-insensitively) has exactly
 *    the rule's value and whose version is active → rule.
 * 3. Weighted among active versions with weight > 0, sorted by name in UTF-16 code-unit
 *    order. With a key: bucket = FNV-1a 32 over the UTF-8 bytes of `tenant/service/env:key`,
 *    mod 10000; candidate i owns buckets b with cum_{i-1} / total <= b / 10000 < cum_i / total.
 *    Without a key: any candidate (random by weight).
 * 4. defaultVersion if it exists and is active → default; otherwise 503.
 */
import type { Route } from '../../shared/domain/route.schema.ts';
import type { ConformanceExpectation, ConformanceRequest } from './vectors.ts';

const FNV_OFFSET = 2166136261n;
const FNV_PRIME = 16777619n;
const TWO_TO_THE_32 = 4294967296n;

/** FNV-1a, 32 bits, over the UTF-8 encoding of `text`. */
export function referenceFnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) % TWO_TO_THE_32;
  }
  return Number(hash);
}

export function referenceBucket(route: Pick<Route, 'tenant' | 'service' | 'env'>, key: string): number {
  return referenceFnv1a32(route.tenant + '/' + route.service + '/' + route.env + ':' + key) % 10000;
}

/** Compares two strings by UTF-16 code units, one at a time. */
function compareCodeUnits(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index += 1) {
    const difference = left.charCodeAt(index) - right.charCodeAt(index);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

export interface BucketRange {
  version: string;
  /** Cumulative weight before this version. */
  from: number;
  /** Cumulative weight after it. */
  to: number;
}

/** The weighted candidates with their cumulative ranges, over a total of `total`. */
export function referenceRanges(route: Route): { ranges: BucketRange[]; total: number } {
  const names = Object.keys(route.versions)
    .filter((name) => {
      const version = route.versions[name];
      return version !== undefined && version.state === 'active' && version.weight > 0;
    })
    .sort(compareCodeUnits);
  const ranges: BucketRange[] = [];
  let total = 0;
  for (const name of names) {
    const weight = route.versions[name]?.weight ?? 0;
    ranges.push({ version: name, from: total, to: total + weight });
    total += weight;
  }
  return { ranges, total };
}

const versionNameRule = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function exists(route: Route, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(route.versions, name);
}

function decided(route: Route, name: string, reason: 'pinned' | 'rule' | 'weighted' | 'default'): ConformanceExpectation {
  const version = route.versions[name];
  if (version === undefined) throw new Error(`no version ${name}`);
  return { status: 200, version: name, url: version.url, revision: route.revision, reason };
}

export function referenceResolve(route: Route | undefined, request: ConformanceRequest): ConformanceExpectation {
  if (request.key !== undefined && (request.key.length === 0 || Array.from(request.key).length > 256)) return { status: 400 };
  if (request.version !== undefined && !versionNameRule.test(request.version)) return { status: 400 };
  if (route === undefined) return { status: 404 };

  if (request.version !== undefined) {
    const pinned = exists(route, request.version) ? route.versions[request.version] : undefined;
    if (pinned !== undefined && (pinned.state === 'active' || pinned.state === 'draining')) {
      return decided(route, request.version, 'pinned');
    }
    return { status: 404 };
  }

  for (const rule of route.rules) {
    const sent = Object.keys(request.headers).find((name) => name.toLowerCase() === rule.header.toLowerCase());
    if (sent === undefined || request.headers[sent] !== rule.equals) continue;
    if (exists(route, rule.version) && route.versions[rule.version]?.state === 'active') {
      return decided(route, rule.version, 'rule');
    }
  }

  const { ranges, total } = referenceRanges(route);
  if (ranges.length > 0) {
    if (request.key === undefined) {
      return { status: 200, reason: 'weighted', revision: route.revision, oneOf: ranges.map((range) => range.version) };
    }
    const bucket = referenceBucket(route, request.key);
    // b / 10000 in [from / total, to / total), cross-multiplied to stay in integers.
    const owner = ranges.find((range) => range.from * 10000 <= bucket * total && bucket * total < range.to * 10000);
    if (owner === undefined) throw new Error(`bucket ${bucket} has no owner`);
    return decided(route, owner.version, 'weighted');
  }

  const fallback = route.defaultVersion;
  if (fallback !== undefined && exists(route, fallback) && route.versions[fallback]?.state === 'active') {
    return decided(route, fallback, 'default');
  }
  return { status: 503 };
}
