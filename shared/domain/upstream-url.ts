/**
 * The upstream URL policy of API.md (`url`): which URLs a route may send traffic to.
 *
 * The URL is parsed with the WHATWG parser (`URL`), which already normalises every IPv4
 * notation a resolver would accept (`2130706433`, `0177.0.0.1`, `0x7f.1`, full-width digits,
 * percent-encoding) to dotted decimal and every IPv6 literal to its compressed form; the host
 * is then classified with byte-level CIDR math, looking through IPv6 forms that embed an IPv4
 * address (mapped, compatible, SIIT, NAT64, 6to4, Teredo).
 *
 * What this cannot see: a DNS name that resolves to a private address (or rebinds to one).
 * That needs a check at connect time in whatever dials the upstream; this is the control
 * plane's first line, not the only one.
 */
import { parseEnv, upstreamEnv } from '../config.ts';

/** What a deployment allows beyond the default (https, public hosts). */
export interface UpstreamPolicy {
  /** Allow `http://` as well as `https://`. */
  allowHttp: boolean;
  /**
   * Allow loopback, private (RFC 1918, CGNAT, IPv6 ULA) and site-local addresses, `localhost`,
   * single-label hosts and private DNS suffixes. Never the cloud metadata addresses, link-local,
   * unspecified, multicast or reserved addresses.
   */
  allowPrivate: boolean;
}

/** The strict default: https only, public hosts only. */
export const STRICT_UPSTREAM_POLICY: Readonly<UpstreamPolicy> = Object.freeze({
  allowHttp: false,
  allowPrivate: false,
});

/**
 * Why an address may not be an upstream. `private` and `loopback` are relaxed by
 * `allowPrivate`; every other class is always refused.
 */
type AddressClass =
  | 'metadata'
  | 'loopback'
  | 'private'
  | 'private-name'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

const RELAXED_BY_ALLOW_PRIVATE: ReadonlySet<AddressClass> = new Set([
  'loopback',
  'private',
  'private-name',
]);

const DESCRIPTION: Record<AddressClass, string> = {
  metadata: 'the cloud instance metadata address',
  loopback: 'a loopback address',
  private: 'a private address',
  'private-name': 'a private host name',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast or broadcast address',
  reserved: 'a reserved address',
};

interface Cidr {
  bytes: readonly number[];
  bits: number;
  class: AddressClass;
}

function v4(a: number, b: number, c: number, d: number, bits: number, cls: AddressClass): Cidr {
  return { bytes: [a, b, c, d], bits, class: cls };
}

/** First match wins, so the metadata address comes before the link-local range holding it. */
const IPV4_RANGES: readonly Cidr[] = [
  v4(169, 254, 169, 254, 32, 'metadata'),
  v4(0, 0, 0, 0, 8, 'unspecified'),
  v4(127, 0, 0, 0, 8, 'loopback'),
  v4(10, 0, 0, 0, 8, 'private'),
  v4(172, 16, 0, 0, 12, 'private'),
  v4(192, 168, 0, 0, 16, 'private'),
  v4(100, 64, 0, 0, 10, 'private'),
  v4(169, 254, 0, 0, 16, 'link-local'),
  v4(192, 0, 0, 0, 24, 'reserved'),
  v4(198, 18, 0, 0, 15, 'reserved'),
  v4(224, 0, 0, 0, 4, 'multicast'),
  v4(240, 0, 0, 0, 4, 'reserved'), // includes 255.255.255.255
];

function v6(groups: readonly number[], bits: number, cls: AddressClass): Cidr {
  const bytes = new Array<number>(16).fill(0);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return { bytes, bits, class: cls };
}

/** Native IPv6 ranges; IPv6 forms embedding an IPv4 address are unwrapped first. */
const IPV6_RANGES: readonly Cidr[] = [
  v6([0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254], 128, 'metadata'),
  v6([0, 0, 0, 0, 0, 0, 0, 0], 128, 'unspecified'),
  v6([0, 0, 0, 0, 0, 0, 0, 1], 128, 'loopback'),
  v6([0xfc00], 7, 'private'),
  v6([0xfec0], 10, 'private'), // deprecated site-local
  v6([0x0064, 0xff9b, 0x0001], 48, 'private'), // local-use NAT64
  v6([0xfe80], 10, 'link-local'),
  v6([0xff00], 8, 'multicast'),
  v6([0x0100], 64, 'reserved'), // discard-only
];

function inRange(bytes: readonly number[], range: Cidr): boolean {
  for (let bit = 0; bit < range.bits; bit += 8) {
    const take = Math.min(8, range.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const index = bit / 8;
    if (((bytes[index] ?? 0) & mask) !== ((range.bytes[index] ?? 0) & mask)) return false;
  }
  return true;
}

function classify(bytes: readonly number[], ranges: readonly Cidr[]): AddressClass | undefined {
  return ranges.find((range) => inRange(bytes, range))?.class;
}

/**
 * Bytes of a dotted-decimal IPv4 address, or undefined if `host` is not one.
 * @internal exported for tests; the WHATWG parser has already normalised other notations.
 */
export function parseIPv4(host: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (match === null) return undefined;
  const bytes = match.slice(1).map(Number);
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
}

/**
 * Bytes of an IPv6 address in hex-group form (what the WHATWG parser serialises), or
 * undefined if it is not one.
 * @internal exported for tests.
 */
export function parseIPv6(address: string): number[] | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined): string[] =>
    part === undefined || part === '' ? [] : part.split(':');
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return groups.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/** The IPv4 address an IPv6 address carries, for the forms that route to it. */
function embeddedIPv4(bytes: readonly number[]): number[] | undefined {
  const last32 = bytes.slice(12, 16);
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT)
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return last32;
  if (zeros(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && zeros(10, 12)) return last32;
  // ::a.b.c.d (compatible, deprecated); :: and ::1 are native IPv6 and classified as such
  if (zeros(0, 12) && !zeros(12, 15)) return last32;
  // 64:ff9b::a.b.c.d (well-known NAT64 prefix)
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) {
    return last32;
  }
  // 2002:aabb:ccdd::/48 (6to4)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  // 2001:0::/32 (Teredo): the client address is the last 32 bits, inverted
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0x00 && bytes[3] === 0x00) {
    return last32.map((byte) => byte ^ 0xff);
  }
  return undefined;
}

function classifyIPv6(bytes: readonly number[]): AddressClass | undefined {
  const native = classify(bytes, IPV6_RANGES);
  if (native !== undefined) return native;
  const embedded = embeddedIPv4(bytes);
  return embedded === undefined ? undefined : classify(embedded, IPV4_RANGES);
}

/** Host names that always mean the metadata service, whatever the policy. */
const METADATA_HOSTS: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** DNS suffixes that never name a public host (RFC 6761, RFC 6762, RFC 8375, common intranet use). */
const PRIVATE_SUFFIXES = ['.local', '.internal', '.localdomain', '.home.arpa', '.intranet', '.lan'];

function classifyName(name: string): AddressClass | undefined {
  if (METADATA_HOSTS.has(name)) return 'metadata';
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  // A single label is resolved through search domains: never a public name.
  if (!name.includes('.')) return 'private-name';
  if (PRIVATE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return 'private-name';
  return undefined;
}

/** Whitespace, control characters and backslashes: parsers disagree on them, so refuse them. */
// eslint-disable-next-line no-control-regex
const AMBIGUOUS_CHARACTERS = /[\s\u0000-\u001f\u007f\\]/u;
/** The authority of a `scheme://authority...` string, as written. */
const AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/**
 * Checks an upstream URL against the policy.
 *
 * @returns why the URL is refused (a sentence fit for a problem body's `errors[].message`),
 *   or `undefined` when it is acceptable.
 */
export function checkUpstreamUrl(url: string, policy: UpstreamPolicy): string | undefined {
  if (AMBIGUOUS_CHARACTERS.test(url)) {
    return 'must not contain whitespace, control characters or backslashes';
  }
  const authority = AUTHORITY.exec(url)?.[1];
  if (authority === undefined || authority === '') return 'must be an absolute URL (scheme://host)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a valid absolute URL';
  }
  const schemes = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(parsed.protocol)) {
    return policy.allowHttp ? 'must use https or http' : 'must use https';
  }
  // An `@` in the authority means userinfo, even when empty (`https://@host`).
  if (parsed.username !== '' || parsed.password !== '' || authority.includes('@')) {
    return 'must not contain credentials';
  }
  const refusal = hostRefusal(parsed.hostname, policy);
  return refusal === undefined ? undefined : `must not point at ${refusal}`;
}

/** Why the host is refused, or undefined. `hostname` is as the WHATWG parser serialised it. */
function hostRefusal(hostname: string, policy: UpstreamPolicy): string | undefined {
  let cls: AddressClass | undefined;
  if (hostname.startsWith('[')) {
    const bytes = parseIPv6(hostname.slice(1, -1));
    if (bytes === undefined) return 'an unparseable IPv6 address';
    cls = classifyIPv6(bytes);
  } else {
    const ipv4 = parseIPv4(hostname);
    if (ipv4 !== undefined) {
      cls = classify(ipv4, IPV4_RANGES);
    } else {
      // One trailing dot is the fully-qualified form of the same name; more is not a name.
      const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
      if (name === '' || name.split('.').includes('')) return 'an invalid host name';
      cls = classifyName(name);
    }
  }
  if (cls === undefined) return undefined;
  if (policy.allowPrivate && RELAXED_BY_ALLOW_PRIVATE.has(cls)) return undefined;
  return `${DESCRIPTION[cls]} (${hostname})`;
}

/**
 * The policy configured for this deployment (`ALLOW_HTTP_UPSTREAMS`,
 * `ALLOW_PRIVATE_UPSTREAMS`, both default `false`). Call once at cold start.
 */
export function upstreamPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): UpstreamPolicy {
  const parsed = parseEnv(upstreamEnv, env);
  return { allowHttp: parsed.ALLOW_HTTP_UPSTREAMS, allowPrivate: parsed.ALLOW_PRIVATE_UPSTREAMS };
}
