/**
 * Auth and tenant isolation over real HTTP (API.md, Auth): hostile tokens get a 401 that
 * says nothing of the reason, a token without the scope gets 403, and another tenant's
 * token gets the same 404 that a missing route gets, never the other tenant's data.
 */
import { randomUUID } from 'node:crypto';
import type { LocalServer } from '#local/server';
import {
  bearer,
  foreignKeyToken,
  keyConfusionTokens,
  tamperedToken,
  unsecuredToken,
  validClaims,
} from '#test/support/auth-tokens';
import { apiClient, expectProblem, type ApiClient, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';

const run = randomUUID().slice(0, 8);
const tenantA = `acme-${run}`;
const tenantB = `globex-${run}`;
/** Data only tenant A's route holds: it must never appear in an answer to tenant B. */
const secretOfA = `secret-upstream-${run}`;
const actorOfA = `alice-${run}`;
const routeOfA = `/v1/tenants/${tenantA}/routes/checkout/prod`;
const allScopes = 'routes:read routes:write resolve audit:read';

let server: LocalServer;
let api: ApiClient;
/** tenant A's own token, every scope. */
let tokenA: string;
/** tenant B's token, every scope. */
let tokenB: string;

function routeBody(url: string): unknown {
  return {
    versions: { v1: { url, weight: 100, state: 'active' } },
    defaultVersion: 'v1',
    rules: [],
  };
}

/** A problem body without the members that differ on every request. */
function comparable(response: ApiResponse): unknown {
  const { requestId: _requestId, instance: _instance, ...rest } = response.json as Record<string, unknown>;
  return rest;
}

function expectNoDataOfA(response: ApiResponse): void {
  expect(response.text).not.toContain(secretOfA);
  expect(response.text).not.toContain(actorOfA);
}

beforeAll(async () => {
  server = await startTestApi({ throttle: false });
  api = apiClient(server.url);
  tokenA = await bearer({ tenant: tenantA, scope: allScopes, sub: actorOfA });
  tokenB = await bearer({ tenant: tenantB, scope: allScopes, sub: `mallory-${run}` });

  const created = await api.request('PUT', routeOfA, {
    authorization: tokenA,
    body: routeBody(`https://${secretOfA}.example`),
  });
  expect({ status: created.status, body: created.json }).toMatchObject({ status: 201 });
  const createdB = await api.request('PUT', `/v1/tenants/${tenantB}/routes/checkout/prod`, {
    authorization: tokenB,
    body: routeBody(`https://checkout.${tenantB}.example`),
  });
  expect(createdB.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe('the route of tenant A, read with its own token', () => {
  it('returns 200 with the route and its ETag (the control for every refusal below)', async () => {
    const response = await api.request('GET', routeOfA, { authorization: tokenA });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"1"');
    expect(response.json).toMatchObject({ tenant: tenantA, revision: 1, updatedBy: actorOfA });
    expect(response.text).toContain(secretOfA);
  });
});

describe('401 with WWW-Authenticate: Bearer and no reason', () => {
  const claimsA = (): Record<string, unknown> => validClaims(tenantA, 'routes:read');

  const cases: [string, () => Promise<string | undefined>][] = [
    ['no token', async () => undefined],
    ['an empty bearer', async () => 'Bearer '],
    ['garbage', async () => 'Bearer garbage'],
    ['three garbage segments', async () => 'Bearer a.b.c'],
    ['another scheme', async () => 'Basic YWxpY2U6c2VjcmV0'],
    ['alg none', async () => `Bearer ${unsecuredToken(claimsA())}`],
    ['HS256 keyed with the public JWK (key confusion)', async () => `Bearer ${(await keyConfusionTokens(claimsA()))[0]}`],
    ['HS256 keyed with the public PEM (key confusion)', async () => `Bearer ${(await keyConfusionTokens(claimsA()))[1]}`],
    ['a tampered payload under the original signature', async () => `Bearer ${await tamperedToken()}`],
    ['a signature by a foreign key under the right kid', async () => `Bearer ${await foreignKeyToken(claimsA())}`],
    ['an expired token', () => bearer({ tenant: tenantA, scope: 'routes:read', expiresIn: -300 })],
    ['a token not yet valid', () => bearer({ tenant: tenantA, scope: 'routes:read', notBefore: 300 })],
    ['a token without exp', () => bearer({ tenant: tenantA, scope: 'routes:read', omitExp: true })],
    ['a wrong issuer', () => bearer({ tenant: tenantA, scope: 'routes:read', issuer: 'https://evil.example/' })],
    ['a wrong audience', () => bearer({ tenant: tenantA, scope: 'routes:read', audience: 'another-api' })],
    ['an unknown kid', () => bearer({ tenant: tenantA, scope: 'routes:read', kid: 'rotated-away' })],
    [
      'an unknown critical header',
      () =>
        bearer({
          tenant: tenantA,
          scope: 'routes:read',
          header: { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
        }),
    ],
  ];

  const bodies = new Map<string, unknown>();

  it.each(cases)('for %s', async (name, authorization) => {
    const header = await authorization();
    const response = await api.request('GET', routeOfA, header === undefined ? {} : { authorization: header });
    const problem = expectProblem(response, 401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(problem.title).toBe('Unauthorized');
    expect(response.text).not.toMatch(
      /expired|signature|issuer|audience|\bkid\b|crit|\balg\b|\bnone\b|HS256|jose|JWS|claim|\bexp\b|\bnbf\b|\biss\b|\baud\b/i,
    );
    expectNoDataOfA(response);
    bodies.set(name, comparable(response));
  });

  it('gives every refused token the very same answer', () => {
    expect(bodies.size).toBe(cases.length);
    const distinct = new Set([...bodies.values()].map((body) => JSON.stringify(body)));
    expect(distinct.size).toBe(1);
  });
});

describe('tokens that pass', () => {
  it('accepts a token that expired 30 s ago, within the allowed clock skew', async () => {
    const authorization = await bearer({ tenant: tenantA, scope: 'routes:read', expiresIn: -30 });
    const response = await api.request('GET', routeOfA, { authorization });
    expect(response.status).toBe(200);
    expect(response.text).toContain(secretOfA);
  });

  it("lets an operator token (tenant *) read tenant A's route", async () => {
    const authorization = await bearer({ tenant: '*', scope: 'routes:read', sub: 'operator' });
    const response = await api.request('GET', routeOfA, { authorization });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ tenant: tenantA, service: 'checkout', env: 'prod' });
    expect(response.text).toContain(secretOfA);
  });
});

describe('403 for a valid token without the scope', () => {
  it.each([
    ['reading a route without routes:read', 'GET', routeOfA, 'resolve audit:read routes:write'],
    ['writing a route without routes:write', 'PUT', routeOfA, 'routes:read resolve audit:read'],
    ['reading the audit without audit:read', 'GET', `/v1/tenants/${tenantA}/audit`, 'routes:read routes:write resolve'],
  ])('when %s', async (_name, method, path, scope) => {
    const authorization = await bearer({ tenant: tenantA, scope });
    const body = method === 'PUT' ? routeBody('https://overwritten.example') : undefined;
    const response = await api.request(method, path, { authorization, body });
    expect(expectProblem(response, 403).title).toBe('Forbidden');
    expectNoDataOfA(response);
  });

  it('left the route unchanged', async () => {
    const response = await api.request('GET', routeOfA, { authorization: tokenA });
    expect(response.json).toMatchObject({ revision: 1 });
    expect(response.text).toContain(secretOfA);
  });
});

describe("404 for tenant B's token on tenant A's paths", () => {
  it.each([
    ['read', 'GET', routeOfA],
    ['write', 'PUT', routeOfA],
    ['version write', 'PUT', `${routeOfA}/versions/v2`],
    ['delete', 'DELETE', routeOfA],
    ['revisions', 'GET', `${routeOfA}/revisions`],
    ['one revision', 'GET', `${routeOfA}/revisions/1`],
    ['list', 'GET', `/v1/tenants/${tenantA}/routes`],
    ['audit', 'GET', `/v1/tenants/${tenantA}/audit`],
    ['snapshot', 'GET', `/v1/tenants/${tenantA}/snapshot`],
  ])('on %s', async (_name, method, path) => {
    const body =
      method !== 'PUT'
        ? undefined
        : path.includes('/versions/')
          ? { url: 'https://hijack.example', weight: 100 }
          : routeBody('https://hijack.example');
    const response = await api.request(method, path, { authorization: tokenB, body });
    expectProblem(response, 404);
    expectNoDataOfA(response);
    expect(response.headers.get('etag')).toBeNull();
  });

  it("answers exactly as for a route that does not exist, so nothing shows that A's route does", async () => {
    const existing = await api.request('GET', routeOfA, { authorization: tokenB });
    const missingForB = await api.request('GET', `/v1/tenants/${tenantA}/routes/nothing/prod`, {
      authorization: tokenB,
    });
    const missingForA = await api.request('GET', `/v1/tenants/${tenantA}/routes/nothing/prod`, {
      authorization: tokenA,
    });
    expect(missingForA.status).toBe(404);
    expect(comparable(existing)).toEqual(comparable(missingForA));
    expect(comparable(missingForB)).toEqual(comparable(missingForA));
  });

  it("changed nothing of tenant A's route", async () => {
    const response = await api.request('GET', routeOfA, { authorization: tokenA });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ revision: 1, updatedBy: actorOfA });
    expect(Object.keys((response.json as { versions: object }).versions)).toEqual(['v1']);
    expect(response.text).not.toContain('hijack');
  });

  it("never shows A's data in tenant B's own list, snapshot or audit", async () => {
    for (const path of ['routes', 'snapshot', 'audit']) {
      const response = await api.request('GET', `/v1/tenants/${tenantB}/${path}`, { authorization: tokenB });
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.text).toContain(tenantB);
      expect(response.text).not.toContain(tenantA);
      expectNoDataOfA(response);
    }
  });
});
