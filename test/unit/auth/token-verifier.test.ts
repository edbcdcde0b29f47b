import type { webcrypto } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { authEnv, parseEnv } from '#shared/config';
import { ConfigError, UnauthorizedError } from '#shared/errors/http-errors';
import {
  bearerTokenOf,
  createTokenVerifier,
  keysFromConfig,
  principalFromClaims,
} from '#shared/auth/token-verifier';

const issuer = 'https://issuer.test/';
const audience = 'traffic-manager';

async function rejection(promise: Promise<unknown>): Promise<UnauthorizedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  return error as UnauthorizedError;
}

describe('principalFromClaims', () => {
  it('reads sub, tenant and the known scopes', () => {
    const principal = principalFromClaims({ sub: 'alice', tenant: 'acme', scope: 'routes:read resolve' });
    expect(principal).toEqual({ sub: 'alice', tenant: 'acme', scopes: new Set(['routes:read', 'resolve']) });
  });

  it('ignores scopes it does not know, and extra spaces', () => {
    const principal = principalFromClaims({ sub: 'a', tenant: 'acme', scope: ' openid  audit:read admin ' });
    expect([...principal.scopes]).toEqual(['audit:read']);
  });

  it('accepts the operator tenant *', () => {
    expect(principalFromClaims({ sub: 'op', tenant: '*', scope: 'routes:read' }).tenant).toBe('*');
  });

  it.each<[string, JWTPayload]>([
    ['no sub', { tenant: 'acme', scope: 'resolve' }],
    ['an empty sub', { sub: '', tenant: 'acme', scope: 'resolve' }],
    ['no tenant', { sub: 'a', scope: 'resolve' }],
    ['a tenant that is not a slug', { sub: 'a', tenant: 'Acme', scope: 'resolve' }],
    ['a tenant list', { sub: 'a', tenant: ['acme'], scope: 'resolve' }],
    ['a wildcard inside a tenant', { sub: 'a', tenant: 'ac*', scope: 'resolve' }],
    ['no scope', { sub: 'a', tenant: 'acme' }],
    ['a scope array', { sub: 'a', tenant: 'acme', scope: ['resolve'] }],
  ])('refuses claims with %s', (_name, payload) => {
    expect(() => principalFromClaims(payload)).toThrow();
  });
});

describe('bearerTokenOf', () => {
  it.each(['Bearer abc.def.ghi', 'bearer abc.def.ghi', 'BEARER abc.def.ghi', 'Bearer  abc.def.ghi '])(
    'takes the token of %j',
    (header) => {
      expect(bearerTokenOf(header)).toBe('abc.def.ghi');
    },
  );

  it.each([undefined, '', '   ', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Token abc', 'Bearer a b', 'Bearer a,b'])(
    'refuses %j with 401',
    (header) => {
      expect(() => bearerTokenOf(header)).toThrow(UnauthorizedError);
    },
  );

  it('refuses an oversized header before parsing it', () => {
    expect(() => bearerTokenOf(`Bearer ${'a'.repeat(9000)}`)).toThrow(UnauthorizedError);
  });

  it('never puts the header in the reason', () => {
    const header = 'Basic c2VjcmV0LXBhc3N3b3Jk';
    try {
      bearerTokenOf(header);
      throw new Error('expected a refusal');
    } catch (error) {
      expect(String((error as Error).cause)).not.toContain('c2VjcmV0LXBhc3N3b3Jk');
    }
  });
});

describe('createTokenVerifier', () => {
  let privateKey: webcrypto.CryptoKey;
  let verify: ReturnType<typeof createTokenVerifier>;
  const kid = 'unit-key';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid };
    verify = createTokenVerifier({
      keys: createLocalJWKSet({ keys: [jwk] }),
      issuer,
      audience,
      algorithms: ['ES256'],
    });
  });

  function sign(payload: JWTPayload, expiresIn = 300): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, aud: audience, sub: 'alice', tenant: 'acme', scope: 'routes:read' };
    return new SignJWT({ ...claims, iat: now, exp: now + expiresIn, ...payload })
      .setProtectedHeader({ alg: 'ES256', kid })
      .sign(privateKey);
  }

  it('returns the principal of a valid token', async () => {
    const principal = await verify(`Bearer ${await sign({})}`);
    expect(principal).toEqual({ sub: 'alice', tenant: 'acme', scopes: new Set(['routes:read']) });
  });

  it('refuses an expired token, naming the reason in the cause only', async () => {
    const error = await rejection(verify(`Bearer ${await sign({}, -120)}`));
    expect(error.message).toBe('A valid bearer token is required.');
    expect(error.headers['WWW-Authenticate']).toBe('Bearer');
    expect(String(error.cause)).toContain('ERR_JWT_EXPIRED');
  });

  it('refuses a well-signed token whose claims are invalid', async () => {
    const error = await rejection(verify(`Bearer ${await sign({ tenant: '../other' })}`));
    expect(String(error.cause)).toContain('invalid claims: tenant');
  });

  it('refuses a token from another issuer', async () => {
    const error = await rejection(verify(`Bearer ${await sign({ iss: 'https://evil.test/' })}`));
    expect(String(error.cause)).toContain('"iss"');
  });
});

describe('createTokenVerifier: iat and the cache of verified tokens', () => {
  const kid = 'cache-key';
  let privateKey: webcrypto.CryptoKey;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  /** The verifier's clock, in ms; jose's checks use it too. */
  let clock: number;
  let keyLookups: number;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid }] });
  });

  beforeEach(() => {
    clock = Date.parse('2026-12-01T12:00:00Z');
    keyLookups = 0;
  });

  /** A verifier whose key source counts lookups: one per signature verified. */
  function verifier(cache?: { maxEntries: number; maxAgeMs: number } | false) {
    return createTokenVerifier({
      keys: (header, token) => {
        keyLookups += 1;
        return jwks(header, token);
      },
      issuer,
      audience,
      algorithms: ['ES256'],
      now: () => clock,
      ...(cache === undefined ? {} : { cache }),
    });
  }

  function sign(claims: JWTPayload): Promise<string> {
    const now = Math.floor(clock / 1000);
    return new SignJWT({ iss: issuer, aud: audience, sub: 'alice', tenant: 'acme', scope: 'resolve', iat: now, exp: now + 3600, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .sign(privateKey);
  }

  it('refuses with 401 a token issued more than 60 s in the future', async () => {
    const verify = verifier();
    const error = await rejection(verify(`Bearer ${await sign({ iat: Math.floor(clock / 1000) + 61 })}`));
    expect(String(error.cause)).toContain('"iat" claim is in the future');
  });

  it('accepts a token issued up to 60 s in the future (clock skew)', async () => {
    const verify = verifier();
    await expect(verify(`Bearer ${await sign({ iat: Math.floor(clock / 1000) + 60 })}`)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('verifies a repeated token once', async () => {
    const verify = verifier();
    const header = `Bearer ${await sign({})}`;
    const first = await verify(header);
    clock += 60_000;
    expect(await verify(header)).toEqual(first);
    expect(keyLookups).toBe(1);
  });

  it('verifies again after maxAgeMs, even though the token has not expired', async () => {
    const verify = verifier({ maxEntries: 10, maxAgeMs: 300_000 });
    const header = `Bearer ${await sign({})}`;
    await verify(header);
    clock += 300_000;
    await verify(header);
    expect(keyLookups).toBe(2);
  });

  it('never reuses a verification past the token exp', async () => {
    const verify = verifier();
    const header = `Bearer ${await sign({ exp: Math.floor(clock / 1000) + 30 })}`;
    await verify(header);
    clock += 29_000;
    await verify(header);
    expect(keyLookups).toBe(1);
    // Past exp: verified again (jose still allows the 60 s skew), and past the skew refused.
    clock += 2_000;
    await verify(header);
    expect(keyLookups).toBe(2);
    clock += 60_000;
    const error = await rejection(verify(header));
    expect(String(error.cause)).toContain('ERR_JWT_EXPIRED');
  });

  it('honours nbf: a token not yet valid is refused, and accepted once it is', async () => {
    const verify = verifier();
    const header = `Bearer ${await sign({ nbf: Math.floor(clock / 1000) + 120 })}`;
    await rejection(verify(header));
    clock += 61_000;
    await expect(verify(header)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('never caches a refusal', async () => {
    const verify = verifier();
    const header = `Bearer ${await sign({ tenant: 'Not A Slug' })}`;
    await rejection(verify(header));
    await rejection(verify(header));
    expect(keyLookups).toBe(2);
  });

  it('forgets the least recently used token beyond maxEntries', async () => {
    const verify = verifier({ maxEntries: 2, maxAgeMs: 300_000 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign({ sub }).then((token) => `Bearer ${token}`)));
    for (const header of [a, b, a, c, a]) await verify(header);
    expect(keyLookups).toBe(3);
    await verify(b);
    expect(keyLookups).toBe(4);
  });

  it('verifies every time when the cache is off', async () => {
    const verify = verifier(false);
    const header = `Bearer ${await sign({})}`;
    await verify(header);
    await verify(header);
    expect(keyLookups).toBe(2);
  });
});

describe('keysFromConfig', () => {
  const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' };

  it('needs exactly one key source', () => {
    expect(() => keysFromConfig({ AUTH_JWKS_URL: undefined, AUTH_PUBLIC_JWK: undefined })).toThrow(ConfigError);
    expect(() =>
      keysFromConfig({ AUTH_JWKS_URL: 'https://idp.test/jwks.json', AUTH_PUBLIC_JWK: { ...jwk, kty: 'EC' } }),
    ).toThrow(ConfigError);
  });

  it('refuses a JWKS over plain http except on loopback', () => {
    expect(() => keysFromConfig({ AUTH_JWKS_URL: 'http://idp.test/jwks.json', AUTH_PUBLIC_JWK: undefined })).toThrow(
      /must be https/,
    );
    expect(keysFromConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json', AUTH_PUBLIC_JWK: undefined })).toBeInstanceOf(
      Function,
    );
    expect(keysFromConfig({ AUTH_JWKS_URL: 'https://idp.test/jwks.json', AUTH_PUBLIC_JWK: undefined })).toBeInstanceOf(
      Function,
    );
  });
});

describe('authEnv', () => {
  const base = { AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience, AUTH_JWKS_URL: 'https://idp.test/jwks.json' };

  it('allows RS256 and ES256 by default', () => {
    expect(parseEnv(authEnv, base).AUTH_ALGORITHMS).toEqual(['RS256', 'ES256']);
  });

  it('parses a comma-separated allow-list', () => {
    expect(parseEnv(authEnv, { ...base, AUTH_ALGORITHMS: ' ES256 , PS256' }).AUTH_ALGORITHMS).toEqual([
      'ES256',
      'PS256',
    ]);
  });

  it.each(['none', 'HS256', 'RS256,HS512', 'ES256,none', ',', 'rs256'])('refuses the algorithms %j', (algorithms) => {
    expect(() => parseEnv(authEnv, { ...base, AUTH_ALGORITHMS: algorithms })).toThrow(/AUTH_ALGORITHMS/);
  });

  it.each([
    ['not JSON', '{kty:'],
    ['a private key', JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' })],
    ['a symmetric key', JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' })],
    ['a JSON string', JSON.stringify('key')],
  ])('refuses AUTH_PUBLIC_JWK that is %s', (_name, value) => {
    expect(() => parseEnv(authEnv, { ...base, AUTH_JWKS_URL: undefined, AUTH_PUBLIC_JWK: value })).toThrow(
      /AUTH_PUBLIC_JWK/,
    );
  });

  it('requires the issuer and the audience', () => {
    expect(() => parseEnv(authEnv, { AUTH_JWKS_URL: base.AUTH_JWKS_URL })).toThrow(/AUTH_ISSUER.*AUTH_AUDIENCE/);
  });
});
