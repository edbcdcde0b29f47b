/**
 * The production key path: a remote JWKS (AUTH_JWKS_URL), served here by a node:http server
 * on a free loopback port, through a real wrapped handler. Covers caching across
 * invocations, key rotation by `kid` (refetch after jose's 30 s cooldown) and ambiguous keys.
 * The cases run in order: they share the handler's one JWKS cache, as invocations of one
 * execution environment do.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { endpoints } from '#shared/http/endpoints';
import type { HttpHandler } from '#shared/middleware/http-handler';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';

const issuer = 'https://idp.example.test/';
const audience = 'traffic-manager-prod';

interface TestKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function testKey(kid: string, alg: TestKey['alg']): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let server: Server;
let published: JWK[] = [];
let fetches = 0;
let handler: HttpHandler;
let keyA: TestKey;
let keyB: TestKey;
let keyC: TestKey;

beforeAll(async () => {
  [keyA, keyB, keyC] = await Promise.all([testKey('key-a', 'ES256'), testKey('key-b', 'RS256'), testKey('key-c', 'ES256')]);
  published = [keyA.publicJwk];
  server = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    fetches += 1;
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // The authorizer reads its config when first imported: production-style, no local key.
  delete process.env.AUTH_PUBLIC_JWK;
  Object.assign(process.env, {
    AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: audience,
    AUTH_ALGORITHMS: 'RS256,ES256',
  });
  const { httpHandler } = await import('#shared/middleware/http-handler');
  handler = httpHandler({
    endpoint: endpoints.listRoutes,
    run: async ({ principal }) => ({ status: 200, body: { items: [], nextCursor: null, sub: principal.sub } }),
  });
});

afterAll(async () => {
  jest.restoreAllMocks();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

async function token(key: TestKey, options: { kid?: string | null; sub?: string } = {}): Promise<string> {
  const kid = options.kid === undefined ? key.kid : options.kid;
  return new SignJWT({ tenant: 'acme', scope: 'routes:read' })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(kid === null ? {} : { kid }) })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(options.sub ?? 'svc-deployer')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

function call(jwt: string): Promise<APIGatewayProxyResult> {
  return handler(
    apiGatewayEvent({
      method: 'GET',
      path: '/v1/tenants/acme/routes',
      pathParameters: { tenant: 'acme' },
      headers: { Authorization: `Bearer ${jwt}` },
    }),
    lambdaContext(),
  );
}

/** Moves jose's clock (it times the JWKS cooldown with Date.now) `seconds` ahead. */
function advanceClock(seconds: number): void {
  const now = Date.now();
  jest.spyOn(Date, 'now').mockImplementation(() => now + seconds * 1000);
}

describe('remote JWKS', () => {
  it('accepts a token signed by a published key, fetching the set once', async () => {
    const response = await call(await token(keyA));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ sub: 'svc-deployer' });
    expect(fetches).toBe(1);
  });

  it('keeps the set across invocations', async () => {
    for (let index = 0; index < 3; index += 1) expect((await call(await token(keyA))).statusCode).toBe(200);
    expect(fetches).toBe(1);
  });

  it('refuses an unknown kid, without refetching within the cooldown', async () => {
    const response = await call(await token(keyB));
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['WWW-Authenticate']).toBe('Bearer');
    expect(fetches).toBe(1);
  });

  it('accepts a rotated-in key once the cooldown has passed, after one refetch', async () => {
    published = [keyA.publicJwk, keyB.publicJwk];
    advanceClock(31);
    expect((await call(await token(keyB, { sub: 'after-rotation' }))).statusCode).toBe(200);
    expect(fetches).toBe(2);
    // The old key still works while it is published.
    expect((await call(await token(keyA))).statusCode).toBe(200);
    expect(fetches).toBe(2);
  });

  it('refuses a key that was rotated out, once the set is refetched', async () => {
    published = [keyB.publicJwk, keyC.publicJwk];
    advanceClock(62);
    // key-c is new: its kid triggers the refetch that drops key-a.
    expect((await call(await token(keyC))).statusCode).toBe(200);
    expect(fetches).toBe(3);
    expect((await call(await token(keyA))).statusCode).toBe(401);
  });

  it('refuses a token without kid when two published keys could verify it', async () => {
    // key-a and key-c are both ES256 P-256 keys: without a kid the choice is ambiguous.
    published = [keyA.publicJwk, keyB.publicJwk, keyC.publicJwk];
    advanceClock(93);
    expect((await call(await token(keyA, { kid: 'unknown-to-force-refetch' }))).statusCode).toBe(401);
    expect(fetches).toBe(4);
    expect((await call(await token(keyC, { kid: null }))).statusCode).toBe(401);
    // The same key with its kid is fine.
    expect((await call(await token(keyC))).statusCode).toBe(200);
  });

  it('accepts a token without kid when exactly one published key fits its algorithm', async () => {
    // key-b is the only RSA key in the set.
    expect((await call(await token(keyB, { kid: null }))).statusCode).toBe(200);
  });

  it('refuses HS256 signed with a published public key (key confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(keyB.publicJwk));
    const forged = await new SignJWT({ tenant: 'acme', scope: 'routes:read' })
      .setProtectedHeader({ alg: 'HS256', kid: keyB.kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign(secret);
    expect((await call(forged)).statusCode).toBe(401);
  });
});
