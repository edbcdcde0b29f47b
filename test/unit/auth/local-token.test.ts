import { spawnSync } from 'node:child_process';
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { loadDevKeys } from '#local/dev-keys';
import { repoRoot } from '#local/paths';
import { localAudience, localFunctionEnvironment, localIssuer } from '#local/environment';
import { mintLocalToken, parseTokenArgs } from '#local/token';

describe('loadDevKeys', () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tm-keys-')), 'dev-keys');
  });
  afterEach(() => {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('makes a key pair on first use, the private key readable by its owner only', async () => {
    const keys = await loadDevKeys(dir);
    expect(statSync(path.join(dir, 'private-key.pem')).mode & 0o777).toBe(0o600);
    expect(keys.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys.publicJwk).not.toHaveProperty('d');
  });

  it('returns the same key on later uses', async () => {
    const first = await loadDevKeys(dir);
    expect((await loadDevKeys(dir)).publicJwk).toEqual(first.publicJwk);
  });

  it('names the key by its RFC 7638 thumbprint (the kid keys made before kept)', async () => {
    const { publicJwk } = await loadDevKeys(dir);
    // RFC 7638, section 3.2, for an EC key: SHA-256 of its required members, sorted, no spaces.
    const canonical = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y });
    expect(publicJwk.kid).toBe(createHash('sha256').update(canonical).digest('base64url'));
  });
});

describe('localFunctionEnvironment', () => {
  it('gives the functions the public dev key, issuer and audience', async () => {
    const env = localFunctionEnvironment('http://127.0.0.1:5000');
    expect(JSON.parse(env.AUTH_PUBLIC_JWK ?? '')).toEqual((await loadDevKeys()).publicJwk);
    expect(env).toMatchObject({ AUTH_ISSUER: localIssuer, AUTH_AUDIENCE: localAudience, TABLE_NAME: expect.any(String) });
  });

  it('allows http:// upstreams, as API.md says the local stack does', () => {
    const env = localFunctionEnvironment('http://127.0.0.1:5000');
    expect(env.ALLOW_HTTP_UPSTREAMS).toBe('true');
  });
});

describe('npm run -s token (the command itself)', () => {
  const runToken = (args: string[]) =>
    spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/token.ts', ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

  it('prints the token alone on standard output', () => {
    const run = runToken(['--tenant', 'acme', '--scope', 'routes:read resolve', '--sub', 'alice']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeJwt(run.stdout.trim())).toMatchObject({ tenant: 'acme', scope: 'routes:read resolve', sub: 'alice' });
  });

  it('prints usage on standard error and exits 2 for a bad command line, with nothing on standard output', () => {
    const run = runToken(['--scope', 'resolve']);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--tenant is required');
    expect(run.stderr).toContain('Usage: npm run -s token');
  });
});

describe('mintLocalToken', () => {
  it('signs with the dev key and the local issuer and audience, for an hour, as local-user', async () => {
    const now = 1_800_000_000;
    const token = await mintLocalToken({ tenant: 'acme', scope: 'routes:read', now });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'JWT', kid: (await loadDevKeys()).publicJwk.kid });
    expect(decodeJwt(token)).toEqual({
      iss: localIssuer,
      aud: localAudience,
      sub: 'local-user',
      tenant: 'acme',
      scope: 'routes:read',
      iat: now,
      exp: now + 3600,
    });
  });

  it('takes overrides for hostile tokens', async () => {
    const token = await mintLocalToken({
      tenant: 'acme',
      scope: 'resolve',
      kid: null,
      omitExp: true,
      claims: { aud: undefined, extra: 1 },
      header: { crit: ['x-unknown'], 'x-unknown': true },
    });
    expect(decodeProtectedHeader(token)).not.toHaveProperty('kid');
    expect(decodeProtectedHeader(token).crit).toEqual(['x-unknown']);
    const claims = decodeJwt(token);
    expect(claims).not.toHaveProperty('exp');
    expect(claims).not.toHaveProperty('aud');
    expect(claims.extra).toBe(1);
  });
});

describe('parseTokenArgs', () => {
  it('reads the documented options', () => {
    expect(
      parseTokenArgs(['--tenant', 'acme', '--scope', 'routes:read  routes:write', '--sub', 'bob', '--expires-in', '60']),
    ).toEqual({ tenant: 'acme', scope: 'routes:read routes:write', sub: 'bob', expiresIn: 60 });
  });

  it('accepts an operator tenant and leaves defaults to mintLocalToken', () => {
    expect(parseTokenArgs(['--tenant', '*', '--scope', 'audit:read'])).toEqual({ tenant: '*', scope: 'audit:read' });
  });

  it('dates a negative --expires-in past the clock skew, so the token is really expired', () => {
    expect(parseTokenArgs(['--tenant', 'acme', '--scope', 'resolve', '--expires-in', '-1']).expiresIn).toBe(-61);
    expect(parseTokenArgs(['--tenant', 'acme', '--scope', 'resolve', '--expires-in=-30']).expiresIn).toBe(-90);
  });

  it.each([
    [[], /--tenant is required/],
    [['--tenant', 'acme'], /--scope is required/],
    [['--tenant', 'Acme', '--scope', 'resolve'], /tenant slug/],
    [['--tenant', 'acme', '--scope', 'admin'], /--scope must list/],
    [['--tenant', 'acme', '--scope', ' '], /--scope must list/],
    [['--tenant', 'acme', '--scope', 'resolve', '--expires-in', '1h'], /integer/],
    [['--tenant', 'acme', '--scope', 'resolve', '--expires-in'], /argument missing/],
    [['--tenant', 'acme', '--scope', 'resolve', '--bogus'], /Unknown option/],
    [['--tenant', 'acme', '--scope', 'resolve', 'extra'], /positional/],
  ])('refuses %j', (args, message) => {
    expect(() => parseTokenArgs(args)).toThrow(message);
  });
});
