/**
 * Authentication and authorisation through a real wrapped handler (the whole middleware
 * chain), with the local dev key that test/support/emulator-env.ts configures.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mintLocalToken } from '#local/token';
import { httpHandler } from '#shared/middleware/http-handler';
import { endpoints } from '#shared/http/endpoints';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import {
  bearer,
  foreignKeyToken,
  keyConfusionTokens,
  tamperedToken,
  unsecuredToken,
} from '#test/support/auth-tokens';

const marker = 'route-data-of-acme';

const getRoute = httpHandler({
  endpoint: endpoints.getRoute,
  run: async ({ principal, params }) => ({
    status: 200,
    body: { marker, tenant: params.tenant, sub: principal.sub, scopes: [...principal.scopes].sort() },
  }),
});

function call(authorization: string | undefined, tenant = 'acme', extraHeaders: Record<string, string> = {}) {
  const path = `/v1/tenants/${tenant}/routes/checkout/prod`;
  return getRoute(
    apiGatewayEvent({
      method: 'GET',
      path,
      pathParameters: { tenant, service: 'checkout', env: 'prod' },
      headers: { ...(authorization === undefined ? {} : { Authorization: authorization }), ...extraHeaders },
    }),
    lambdaContext(),
  );
}

function problem(response: APIGatewayProxyResult): { status: number; title: string; detail: string } {
  expect(response.headers?.['Content-Type']).toBe('application/problem+json');
  expect(response.body).not.toContain(marker);
  return JSON.parse(response.body) as { status: number; title: string; detail: string };
}

function expectUnauthorized(response: APIGatewayProxyResult): void {
  expect(response.statusCode).toBe(401);
  expect(response.headers?.['WWW-Authenticate']).toBe('Bearer');
  expect(problem(response)).toMatchObject({
    status: 401,
    title: 'Unauthorized',
    detail: 'A valid bearer token is required.',
  });
}

describe('GET route with the local dev key', () => {
  it('returns 200 and the caller for a valid token', async () => {
    const response = await call(await bearer({ tenant: 'acme', scope: 'routes:read', sub: 'alice' }));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ marker, tenant: 'acme', sub: 'alice', scopes: ['routes:read'] });
  });

  it('accepts the scheme in any case', async () => {
    const token = await mintLocalToken({ tenant: 'acme', scope: 'routes:read' });
    expect((await call(`bearer ${token}`)).statusCode).toBe(200);
    expect((await call(`BEARER ${token}`)).statusCode).toBe(200);
  });

  it('finds the header whatever its case, as API Gateway passes it through', async () => {
    const token = await mintLocalToken({ tenant: 'acme', scope: 'routes:read' });
    expect((await call(undefined, 'acme', { authorization: `Bearer ${token}` })).statusCode).toBe(200);
  });

  describe('returns 401 with WWW-Authenticate: Bearer', () => {
    it('without a token', async () => {
      expectUnauthorized(await call(undefined));
    });

    it.each(['Bearer', 'Bearer not-a-jwt', 'Bearer a.b.c', 'Bearer e30.e30.', 'Basic YWxpY2U6c2VjcmV0', 'garbage'])(
      'for the garbage header %j',
      async (header) => {
        expectUnauthorized(await call(header));
      },
    );

    it('for alg none', async () => {
      expectUnauthorized(await call(`Bearer ${unsecuredToken()}`));
    });

    it('for HS256 signed with the public key (key confusion), as JWK and as PEM', async () => {
      const tokens = await keyConfusionTokens();
      expect(tokens).toHaveLength(2);
      for (const token of tokens) expectUnauthorized(await call(`Bearer ${token}`));
    });

    it('for a tampered payload under the original signature', async () => {
      expectUnauthorized(await call(`Bearer ${await tamperedToken()}`));
    });

    it('for a token signed by another key under the right kid', async () => {
      expectUnauthorized(await call(`Bearer ${await foreignKeyToken()}`));
    });

    it('for a token expired beyond the 60 s skew', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', expiresIn: -61 })));
    });

    it('for a token not valid before a time beyond the skew', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', notBefore: 120 })));
    });

    it('for a token without exp', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', omitExp: true })));
    });

    it('for a token from another issuer', async () => {
      const header = await bearer({ tenant: 'acme', scope: 'routes:read', issuer: 'https://evil.example/' });
      expectUnauthorized(await call(header));
    });

    it('for a token meant for another audience', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', audience: 'other-api' })));
    });

    it('for a token without an audience', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', claims: { aud: undefined } })));
    });

    it('for an unknown kid', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', kid: 'rotated-away' })));
    });

    it('for an unknown critical header parameter', async () => {
      const header = { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true };
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', header })));
    });

    it('for a token without sub, or with a tenant that is not a slug', async () => {
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', claims: { sub: undefined } })));
      expectUnauthorized(await call(await bearer({ tenant: 'Acme Corp', scope: 'routes:read' })));
    });

    it('for a token signed with an algorithm outside the allow-list', async () => {
      // Signed with the ES256 dev key but labelled ES384, which the local allow-list lacks.
      expectUnauthorized(await call(await bearer({ tenant: 'acme', scope: 'routes:read', header: { alg: 'ES384' } })));
    });
  });

  it('returns 403 for a valid token without the scope', async () => {
    const response = await call(await bearer({ tenant: 'acme', scope: 'resolve routes:write openid' }));
    expect(response.statusCode).toBe(403);
    expect(problem(response)).toMatchObject({ status: 403, title: 'Forbidden' });
  });

  it("returns a bare 404 for another tenant's route, saying nothing of it", async () => {
    const response = await call(await bearer({ tenant: 'globex', scope: 'routes:read' }), 'acme');
    expect(response.statusCode).toBe(404);
    const body = problem(response);
    expect(body).toMatchObject({ status: 404, title: 'Not Found', detail: 'No such route.' });
    expect(JSON.stringify(body)).not.toContain('globex');
  });

  it('lets an operator token (tenant *) read any tenant', async () => {
    const response = await call(await bearer({ tenant: '*', scope: 'routes:read', sub: 'operator' }), 'globex');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ tenant: 'globex', sub: 'operator' });
  });

  it('accepts a token within the 60 s clock skew on either side', async () => {
    expect((await call(await bearer({ tenant: 'acme', scope: 'routes:read', expiresIn: -30 }))).statusCode).toBe(200);
    expect((await call(await bearer({ tenant: 'acme', scope: 'routes:read', notBefore: 30 }))).statusCode).toBe(200);
  });
});
