/**
 * The upstream URL policy of API.md (`url`): which URLs a route may send traffic to.
 *
 * The URL is parsed with the WHATWG parser (`URL`), which already normalises every IPv4
 * notation a resolver would accept (`2130706433`, `0177.0.0.1`, `0x7f.1`, full-width digits,
 * percent-encoding) to dotted decimal and every IPv6 literal to its compressed form. The
 * address is then classified with `ipaddr.js` (its named special-purpose ranges), looking
 * through the IPv6 forms that embed an IPv4 address (mapped, compatible, SIIT, NAT64, 6to4,
 * Teredo). The module reads no environment: the caller passes the policy, which
 * shared/config.ts parses from `ALLOW_HTTP_UPSTREAMS` and `ALLOW_PRIVATE_UPSTREAMS`.
 *
 * What this cannot see: a DNS name that resolves to a private address (or rebinds to one).
 * That needs a check at connect time in whatever dials the upstream; this is the control
 * plane's first line, not the only one.
 */
import ipaddr from 'ipaddr.js';

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

/**
 * What each of `ipaddr.js`'s IPv4 ranges means for an upstream; `undefined` is a public
 * address (`unicast`, and the anycast services AS112 and AMT).
 */
const IPV4_CLASS: Record<ReturnType<ipaddr.IPv4['range']>, AddressClass | undefined> = {
  unicast: undefined,
  as112: undefined,
  amt: undefined,
  unspecified: 'unspecified',
  loopback: 'loopback',
  private: 'private',
  carrierGradeNat: 'private',
  linkLocal: 'link-local',
  multicast: 'multicast',
  broadcast: 'reserved',
  reserved: 'reserved',
  benchmarking: 'reserved',
};

/**
 * The same for IPv6. `embeds-ipv4` ranges carry an IPv4 address that decides instead. The
 * library knows more ranges than its `IPv6Range` type lists (site-local, discard, ORCHID,
 * segment routing), hence the string keys: a range not named here is refused as reserved.
 */
const IPV6_CLASS: Readonly<Record<string, AddressClass | 'embeds-ipv4' | undefined>> = {
  unicast: undefined,
  as112v6: undefined,
  amt: undefined,
  unspecified: 'unspecified',
  loopback: 'loopback',
  uniqueLocal: 'private',
  deprecatedSiteLocal: 'private',
  linkLocal: 'link-local',
  multicast: 'multicast',
  ipv4Mapped: 'embeds-ipv4',
  rfc6145: 'embeds-ipv4',
  rfc6052: 'embeds-ipv4',
  '6to4': 'embeds-ipv4',
  teredo: 'embeds-ipv4',
};

/** The cloud metadata addresses (AWS IMDS over IPv4 and IPv6), whatever the policy. */
const METADATA_IPV4 = ipaddr.IPv4.parse('169.254.169.254');
const METADATA_IPV6 = ipaddr.IPv6.parse('fd00:ec2::254');
/** Local-use NAT64 (RFC 8215) translates to addresses of the operator's choice: private. */
const LOCAL_USE_NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48');

function classifyIPv4(address: ipaddr.IPv4): AddressClass | undefined {
  return address.match(METADATA_IPV4, 32) ? 'metadata' : IPV4_CLASS[address.range()];
}

/** The IPv4 address of two 16-bit IPv6 groups. */
function ipv4Of(high: number | undefined, low: number | undefined): ipaddr.IPv4 {
  const [h, l] = [high ?? 0, low ?? 0];
  return new ipaddr.IPv4([h >> 8, h & 0xff, l >> 8, l & 0xff]);
}

/** The IPv4 address an IPv6 address of an `embeds-ipv4` range carries. */
function embeddedIPv4({ parts }: ipaddr.IPv6, range: string): ipaddr.IPv4 {
  switch (range) {
    case '6to4': // 2002:aabb:ccdd::/48
      return ipv4Of(parts[1], parts[2]);
    case 'teredo': // 2001:0::/32: the client address is the last 32 bits, inverted
      return ipv4Of((parts[6] ?? 0) ^ 0xffff, (parts[7] ?? 0) ^ 0xffff);
    default: // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT), 64:ff9b::a.b.c.d (NAT64)
      return ipv4Of(parts[6], parts[7]);
  }
}

function classifyIPv6(address: ipaddr.IPv6): AddressClass | undefined {
  if (address.match(METADATA_IPV6, 128)) return 'metadata';
  if (address.match(LOCAL_USE_NAT64)) return 'private';
  const range = address.range();
  // ::a.b.c.d (IPv4-compatible, deprecated) has no name in the library; :: and ::1 do.
  if (range === 'unicast' && address.parts.slice(0, 6).every((part) => part === 0)) {
    return classifyIPv4(ipv4Of(address.parts[6], address.parts[7]));
  }
  const cls = Object.hasOwn(IPV6_CLASS, range) ? IPV6_CLASS[range] : 'reserved';
  return cls === 'embeds-ipv4' ? classifyIPv4(embeddedIPv4(address, range)) : cls;
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
    const literal = hostname.slice(1, -1);
    if (!ipaddr.IPv6.isValid(literal)) return 'an unparseable IPv6 address';
    cls = classifyIPv6(ipaddr.IPv6.parse(literal));
  } else if (ipaddr.IPv4.isValidFourPartDecimal(hostname)) {
    // The WHATWG parser turned every IPv4 notation into dotted decimal; anything else is a name.
    cls = classifyIPv4(ipaddr.IPv4.parse(hostname));
  } else {
    // One trailing dot is the fully-qualified form of the same name; more is not a name.
    const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
    if (name === '' || name.split('.').includes('')) return 'an invalid host name';
    cls = classifyName(name);
  }
  if (cls === undefined) return undefined;
  if (policy.allowPrivate && RELAXED_BY_ALLOW_PRIVATE.has(cls)) return undefined;
  return `${DESCRIPTION[cls]} (${hostname})`;
}
