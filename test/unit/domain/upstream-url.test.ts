import { upstreamPolicyFromEnv } from '#shared/config';
import { ConfigError } from '#shared/errors/http-errors';
import {
  STRICT_UPSTREAM_POLICY,
  checkUpstreamUrl,
  type UpstreamPolicy,
} from '#shared/domain/upstream-url';

const strict: UpstreamPolicy = STRICT_UPSTREAM_POLICY;
const devStack: UpstreamPolicy = { allowHttp: true, allowPrivate: true };
const httpOnly: UpstreamPolicy = { allowHttp: true, allowPrivate: false };
const privateOnly: UpstreamPolicy = { allowHttp: false, allowPrivate: true };

describe('checkUpstreamUrl with the strict default policy', () => {
  it.each([
    'https://checkout-v1.acme.example',
    'https://checkout-v1.acme.example/',
    'https://api.example.com:8443/base/path?x=1#frag',
    'HTTPS://API.EXAMPLE.COM/',
    'https://example.com./',
    'https://xn--zca.de/',
    'https://ß.de/',
    'https://8.8.8.8/',
    'https://93.184.216.34:443/',
    'https://[2606:4700:4700::1111]/',
    'https://[2002:0808:0808::1]/', // 6to4 of a public address
    'https://[64:ff9b::808:808]/', // NAT64 of a public address
    'https://172.32.0.1/', // just outside 172.16/12
    'https://100.128.0.1/', // just outside 100.64/10
    'https://11.0.0.1/',
    'https://169.255.0.1/',
    'https://example.com/@user?next=a@b#c@d', // `@` outside the authority is not userinfo
    'https://127.0.0.1.nip.io/', // a public DNS name; DNS is out of scope (documented)
  ])('accepts %s', (url) => {
    expect(checkUpstreamUrl(url, strict)).toBeUndefined();
  });

  it.each([
    // shape and scheme
    ['', 'absolute URL'],
    ['example.com', 'absolute URL'],
    ['/relative/path', 'absolute URL'],
    ['https:example.com', 'absolute URL'],
    ['https:/example.com', 'absolute URL'],
    ['https:///example.com', 'absolute URL'],
    ['https://', 'absolute URL'],
    ['https://exa mple.com/', 'whitespace'],
    ['https://exa\tmple.com/', 'whitespace'],
    ['https://example.com/\n', 'whitespace'],
    [' https://example.com/', 'whitespace'],
    ['https://example.com\u0000/', 'control'],
    ['https://127.0.0.1\\@example.com/', 'backslashes'],
    ['https://example.com:99999/', 'valid absolute URL'],
    ['https://256.0.0.1/', 'valid absolute URL'],
    ['https://[fe80::1%25eth0]/', 'valid absolute URL'],
    ['http://example.com/', 'must use https'],
    ['ftp://example.com/', 'must use https'],
    ['file:///etc/passwd', 'absolute URL'],
    ['gopher://example.com/', 'must use https'],
    ['javascript://example.com/%0aalert(1)', 'must use https'],
    ['ws://example.com/', 'must use https'],
    // credentials
    ['https://user:pw@example.com/', 'credentials'],
    ['https://user@example.com/', 'credentials'],
    ['https://:pw@example.com/', 'credentials'],
    ['https://@example.com/', 'credentials'],
    ['https://:@example.com/', 'credentials'],
    ['https://127.0.0.1:80@example.com/', 'credentials'],
    // localhost and private names
    ['https://localhost/', 'loopback'],
    ['https://LOCALHOST/', 'loopback'],
    ['https://localhost./', 'loopback'],
    ['https://localhost:8080/', 'loopback'],
    ['https://api.localhost/', 'loopback'],
    ['https://api.localhost./', 'loopback'],
    ['https://ⓛocalhost/', 'loopback'],
    ['https://localhost%2e/', 'loopback'],
    ['https://localhost../', 'invalid host name'],
    ['https://127.0.0.1../', 'invalid host name'],
    ['https://a..example.com/', 'invalid host name'],
    ['https://./', 'invalid host name'],
    ['https://../', 'invalid host name'],
    ['https://intranet/', 'private host name'],
    ['https://printer.local/', 'private host name'],
    ['https://db.internal/', 'private host name'],
    ['https://nas.home.arpa/', 'private host name'],
    // loopback in every notation
    ['https://127.0.0.1/', 'loopback'],
    ['https://127.255.255.254/', 'loopback'],
    ['https://127.0.0.1./', 'loopback'],
    ['https://2130706433/', 'loopback'],
    ['https://0177.0.0.1/', 'loopback'],
    ['https://0x7f.0.0.1/', 'loopback'],
    ['https://0x7f.0.0.1./', 'loopback'],
    ['https://0x7f000001/', 'loopback'],
    ['https://0x7F.1/', 'loopback'],
    ['https://127.1/', 'loopback'],
    ['https://127.0.1/', 'loopback'],
    ['https://%31%32%37.0.0.1/', 'loopback'],
    ['https://１２７.０.０.１/', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['https://[0:0:0:0:0:0:0:1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://[::ffff:7f00:1]/', 'loopback'],
    ['https://[0:0:0:0:0:ffff:127.0.0.1]/', 'loopback'],
    ['https://[::127.0.0.1]/', 'loopback'],
    ['https://[::ffff:0:127.0.0.1]/', 'loopback'],
    ['https://[64:ff9b::127.0.0.1]/', 'loopback'],
    ['https://[2002:7f00:1::]/', 'loopback'],
    ['https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', 'loopback'], // Teredo, client 127.0.0.1
    // private
    ['https://10.0.0.1/', 'private address'],
    ['https://10.255.255.255/', 'private address'],
    ['https://167772161/', 'private address'],
    ['https://012.0.0.1/', 'private address'],
    ['https://172.16.0.1/', 'private address'],
    ['https://172.31.255.255/', 'private address'],
    ['https://192.168.1.1/', 'private address'],
    ['https://0xc0a80101/', 'private address'],
    ['https://100.64.0.1/', 'private address'],
    ['https://100.127.255.255/', 'private address'],
    ['https://100.100.100.200/', 'private address'], // Alibaba metadata, inside CGNAT
    ['https://[fc00::1]/', 'private address'],
    ['https://[fd12:3456:789a::1]/', 'private address'],
    ['https://[FDFF::1]/', 'private address'],
    ['https://[fec0::1]/', 'private address'],
    ['https://[::ffff:10.0.0.1]/', 'private address'],
    ['https://[::ffff:c0a8:101]/', 'private address'],
    ['https://[64:ff9b:1::a00:1]/', 'private address'],
    // link-local and metadata
    ['https://169.254.169.254/', 'metadata'],
    ['https://169.254.169.254./', 'metadata'],
    ['https://2852039166/', 'metadata'],
    ['https://0xa9fea9fe/', 'metadata'],
    ['https://0251.0376.0251.0376/', 'metadata'],
    ['https://169.254.43518/', 'metadata'],
    ['https://[::ffff:169.254.169.254]/', 'metadata'],
    ['https://[::ffff:a9fe:a9fe]/', 'metadata'],
    ['https://[64:ff9b::a9fe:a9fe]/', 'metadata'],
    ['https://[fd00:ec2::254]/', 'metadata'],
    ['https://[FD00:0EC2:0:0:0:0:0:0254]/', 'metadata'],
    ['https://metadata.google.internal/', 'metadata'],
    ['https://metadata.google.internal./', 'metadata'],
    ['https://instance-data/', 'metadata'],
    ['https://169.254.170.2/', 'link-local'], // ECS task metadata
    ['https://169.254.0.1/', 'link-local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://[febf::1]/', 'link-local'],
    // unspecified
    ['https://0.0.0.0/', 'unspecified'],
    ['https://0/', 'unspecified'],
    ['https://0.1.2.3/', 'unspecified'],
    ['https://[::]/', 'unspecified'],
    ['https://[0:0:0:0:0:0:0:0]/', 'unspecified'],
    ['https://[::ffff:0.0.0.0]/', 'unspecified'],
    // multicast, broadcast, reserved
    ['https://224.0.0.1/', 'multicast'],
    ['https://255.255.255.255/', 'reserved'],
    ['https://240.0.0.1/', 'reserved'],
    ['https://[ff02::1]/', 'multicast'],
    ['https://[100::1]/', 'reserved'],
  ])('refuses %j (%s)', (url, reason) => {
    expect(checkUpstreamUrl(url, strict)).toEqual(expect.stringContaining(reason));
  });

  it('names the normalised host in the message', () => {
    expect(checkUpstreamUrl('https://0x7f000001/', strict)).toBe(
      'must not point at a loopback address (127.0.0.1)',
    );
  });
});

describe('checkUpstreamUrl with a relaxed policy', () => {
  it.each([
    ['http://example.com/', httpOnly],
    ['https://example.com/', httpOnly],
    ['http://127.0.0.1:3000/', devStack],
    ['http://localhost:8080/', devStack],
    ['http://api.localhost/', devStack],
    ['http://[::1]:8080/', devStack],
    ['http://10.1.2.3/', devStack],
    ['http://checkout/', devStack],
    ['http://checkout.internal/', devStack],
    ['https://192.168.0.10/', privateOnly],
    ['https://[fd12::1]/', privateOnly],
    ['https://[::ffff:10.0.0.1]/', privateOnly],
  ])('accepts %s', (url, policy) => {
    expect(checkUpstreamUrl(url, policy)).toBeUndefined();
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', devStack, 'metadata'],
    ['http://2852039166/', devStack, 'metadata'],
    ['http://[::ffff:169.254.169.254]/', devStack, 'metadata'],
    ['http://[fd00:ec2::254]/', devStack, 'metadata'],
    ['http://metadata.google.internal/', devStack, 'metadata'],
    ['http://169.254.170.2/', devStack, 'link-local'],
    ['http://[fe80::1]/', devStack, 'link-local'],
    ['http://0.0.0.0:3000/', devStack, 'unspecified'],
    ['http://[::]/', devStack, 'unspecified'],
    ['http://224.0.0.1/', devStack, 'multicast'],
    ['ftp://example.com/', devStack, 'must use https or http'],
    ['http://user:pw@localhost/', devStack, 'credentials'],
    ['http://127.0.0.1/', httpOnly, 'loopback'],
    ['http://example.com/', privateOnly, 'must use https'],
  ])('refuses %s under %j (%s)', (url, policy, reason) => {
    expect(checkUpstreamUrl(url, policy)).toEqual(expect.stringContaining(reason));
  });
});

describe('ranges ipaddr.js names that the old hand-written table did not', () => {
  it.each([
    ['https://192.0.2.1/', 'reserved'], // TEST-NET-1, documentation only
    ['https://203.0.113.7/', 'reserved'], // TEST-NET-3
    ['https://[2001:db8::1]/', 'reserved'], // IPv6 documentation prefix
    ['https://[2001:2::1]/', 'reserved'], // benchmarking
  ])('refuses %s (%s)', (url, reason) => {
    expect(checkUpstreamUrl(url, strict)).toEqual(expect.stringContaining(reason));
  });

  it.each(['https://192.175.48.1/', 'https://192.52.193.1/'])(
    'accepts the public anycast service address %s',
    (url) => {
      expect(checkUpstreamUrl(url, strict)).toBeUndefined();
    },
  );
});

describe('upstreamPolicyFromEnv (shared/config.ts)', () => {
  it('reads process.env by default', () => {
    expect(upstreamPolicyFromEnv()).toEqual(
      upstreamPolicyFromEnv({
        ALLOW_HTTP_UPSTREAMS: process.env.ALLOW_HTTP_UPSTREAMS,
        ALLOW_PRIVATE_UPSTREAMS: process.env.ALLOW_PRIVATE_UPSTREAMS,
      }),
    );
  });

  it('defaults to the strict policy', () => {
    expect(upstreamPolicyFromEnv({})).toEqual({ allowHttp: false, allowPrivate: false });
  });

  it('reads both flags', () => {
    expect(
      upstreamPolicyFromEnv({ ALLOW_HTTP_UPSTREAMS: 'true', ALLOW_PRIVATE_UPSTREAMS: 'true' }),
    ).toEqual({ allowHttp: true, allowPrivate: true });
    expect(
      upstreamPolicyFromEnv({ ALLOW_HTTP_UPSTREAMS: 'true', ALLOW_PRIVATE_UPSTREAMS: 'false' }),
    ).toEqual({ allowHttp: true, allowPrivate: false });
  });

  it('fails fast on a malformed flag, naming it', () => {
    expect(() => upstreamPolicyFromEnv({ ALLOW_PRIVATE_UPSTREAMS: 'yes' })).toThrow(ConfigError);
    expect(() => upstreamPolicyFromEnv({ ALLOW_PRIVATE_UPSTREAMS: 'yes' })).toThrow(
      /ALLOW_PRIVATE_UPSTREAMS/,
    );
  });
});
