import type { Principal } from '#shared/auth/principal';
import { ForbiddenError, NotFoundError } from '#shared/errors/http-errors';
import { endpoints, type Scope } from '#shared/http/endpoints';

// The authorizer reads its config at import; give it a valid one first.
Object.assign(process.env, {
  AUTH_PUBLIC_JWK: JSON.stringify({
    kty: 'EC',
    crv: 'P-256',
    x: 'TR4vXQz0LQi6jb8qZkgL9TRySzYOaiqhhMqkq5-MfaA',
    y: 'LbfI7s2PxkzWcgwPR8C2Zwb2JrtcS3TmRTaHU4RYTv0',
  }),
  AUTH_ISSUER: 'https://issuer.test/',
  AUTH_AUDIENCE: 'traffic-manager',
});
const { authorize, authenticate, notFoundDetail } = await import('#shared/auth/authorizer');

function principal(tenant: string, ...scopes: Scope[]): Principal {
  return { sub: 'alice', tenant, scopes: new Set(scopes) };
}

function thrown(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('authorize', () => {
  it('lets a token with the scope through on its own tenant', () => {
    expect(() => authorize(principal('acme', 'routes:read'), endpoints.getRoute, 'acme')).not.toThrow();
  });

  it('accepts any one of several scopes (snapshot: resolve or routes:read)', () => {
    expect(() => authorize(principal('acme', 'resolve'), endpoints.getSnapshot, 'acme')).not.toThrow();
    expect(() => authorize(principal('acme', 'routes:read'), endpoints.getSnapshot, 'acme')).not.toThrow();
  });

  it('returns 403 naming the needed scope when the token lacks it', () => {
    const error = thrown(() => authorize(principal('acme', 'routes:read'), endpoints.putRoute, 'acme'));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).message).toContain('routes:write');
    expect((error as ForbiddenError).headers['WWW-Authenticate']).toBe(
      'Bearer error="insufficient_scope", scope="routes:write"',
    );
  });

  it('returns 403 for a token without any known scope', () => {
    expect(thrown(() => authorize(principal('acme'), endpoints.listRoutes, 'acme'))).toBeInstanceOf(ForbiddenError);
  });

  it("returns a generic 404 for another tenant's path, whatever the token's scopes", () => {
    for (const scopes of [['routes:read'], []] as Scope[][]) {
      const error = thrown(() => authorize(principal('acme', ...scopes), endpoints.getRoute, 'globex'));
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).message).toBe(notFoundDetail);
      expect((error as NotFoundError).message).not.toContain('globex');
    }
  });

  it('lets an operator token (tenant *) reach every tenant', () => {
    expect(() => authorize(principal('*', 'audit:read'), endpoints.listAudit, 'globex')).not.toThrow();
  });

  it('still checks the scope of an operator token', () => {
    expect(thrown(() => authorize(principal('*', 'resolve'), endpoints.listAudit, 'globex'))).toBeInstanceOf(
      ForbiddenError,
    );
  });

  it('does not compare tenants when the path has none', () => {
    expect(() => authorize(principal('acme', 'routes:read'), endpoints.getRoute, undefined)).not.toThrow();
  });
});

describe('authenticate', () => {
  it('refuses a request without a token', async () => {
    await expect(authenticate(undefined)).rejects.toMatchObject({ status: 401 });
  });
});
