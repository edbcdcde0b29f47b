/**
 * Every `/v1` endpoint of the endpoint table refuses, over real HTTP, a missing token (401),
 * a badly signed one (401), a token without the endpoint's scope (403) and another
 * tenant's token (404). The test walks `endpointList`, so an endpoint added to the table
 * is covered without touching this file, and one that skipped auth would fail here.
 */
import { randomUUID } from 'node:crypto';
import type { LocalServer } from '#local/server';
import type { Scope } from '#shared/http/endpoints';
import { endpointList, type EndpointDefinition } from '#shared/http/endpoints';
import { knownScopes } from '#shared/auth/token-verifier';
import { bearer, foreignKeyToken, validClaims } from '#test/support/auth-tokens';
import { apiClient, expectProblem, type ApiClient, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';

const run = randomUUID().slice(0, 8);
const tenant = `table-${run}`;
const otherTenant = `other-${run}`;
/** Only tenant's route holds this; no refusal may show it. */
const secret = `secret-upstream-${run}`;

/** Valid values for every path parameter the table uses; each names data that exists. */
const sampleParams: Record<string, string> = {
  tenant,
  service: 'checkout',
  env: 'prod',
  version: 'v1',
  revision: '1',
};

/** A valid body for every endpoint that takes one, so that a refusal is auth's, not validation's. */
const sampleBodies: Record<string, unknown> = {
  putRoute: { versions: { v1: { url: 'https://overwritten.example', weight: 100, state: 'active' } } },
  putVersion: { url: 'https://overwritten.example', weight: 100 },
  patchVersion: { weight: 5 },
  rollbackRoute: { revision: 1 },
};

const v1Endpoints = endpointList.filter((endpoint) => endpoint.path.startsWith('/v1'));

function pathOf(endpoint: EndpointDefinition, params: Record<string, string> = sampleParams): string {
  return endpoint.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${endpoint.id}: add a sample value for the path parameter {${name}}`);
    return encodeURIComponent(value);
  });
}

function bodyOf(endpoint: EndpointDefinition): unknown {
  if (endpoint.body === undefined) return undefined;
  if (!(endpoint.id in sampleBodies)) throw new Error(`${endpoint.id}: add a valid sample body to sampleBodies`);
  return sampleBodies[endpoint.id];
}

let server: LocalServer;
let api: ApiClient;

function call(endpoint: EndpointDefinition, authorization: string | undefined): Promise<ApiResponse> {
  return api.request(endpoint.method, pathOf(endpoint), {
    ...(authorization === undefined ? {} : { authorization }),
    body: bodyOf(endpoint),
  });
}

function expectRefused(response: ApiResponse, status: number): void {
  expectProblem(response, status);
  expect(response.text).not.toContain(secret);
}

beforeAll(async () => {
  server = await startTestApi({ throttle: false });
  api = apiClient(server.url);
  const created = await api.request('PUT', `/v1/tenants/${tenant}/routes/checkout/prod`, {
    authorization: await bearer({ tenant, scope: 'routes:write' }),
    body: { versions: { v1: { url: `https://${secret}.example`, weight: 100, state: 'active' } } },
  });
  expect({ status: created.status, body: created.json }).toMatchObject({ status: 201 });
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe('the endpoint table', () => {
  it('needs no token only for health and the OpenAPI document', () => {
    const open = endpointList.filter((endpoint) => endpoint.scopes === null).map((endpoint) => endpoint.path);
    expect(open.sort()).toEqual(['/health', '/health/live', '/health/ready', '/openapi.json']);
  });

  it("gives every /v1 endpoint the scopes API.md names (written out here, not read from the table)", () => {
    // API.md, Auth: list, read, revisions → routes:read; every write and rollback →
    // routes:write; resolve → resolve; snapshot → resolve or routes:read; audit → audit:read.
    const read = ['routes:read'];
    const write = ['routes:write'];
    expect(Object.fromEntries(v1Endpoints.map((endpoint) => [endpoint.id, [...(endpoint.scopes ?? [])].sort()]))).toEqual({
      listRoutes: read,
      getRoute: read,
      putRoute: write,
      deleteRoute: write,
      putVersion: write,
      patchVersion: write,
      deleteVersion: write,
      listRevisions: read,
      getRevision: read,
      rollbackRoute: write,
      resolveRoute: ['resolve'],
      getSnapshot: ['resolve', 'routes:read'],
      listChanges: ['resolve', 'routes:read'],
      listAudit: ['audit:read'],
    });
  });

  it('gives every /v1 endpoint at least one scope', () => {
    expect(v1Endpoints.length).toBeGreaterThan(0);
    for (const endpoint of v1Endpoints) {
      expect({ id: endpoint.id, scopes: endpoint.scopes }).toEqual({ id: endpoint.id, scopes: expect.any(Array) });
      expect(endpoint.scopes?.length).toBeGreaterThan(0);
    }
  });

  it('has a valid sample path and body for every /v1 endpoint, so refusals below are not validation', () => {
    for (const endpoint of v1Endpoints) {
      const params = Object.fromEntries(
        [...endpoint.path.matchAll(/\{(\w+)\}/g)].map(([, name = '']) => [name, sampleParams[name]]),
      );
      expect({ id: endpoint.id, params: endpoint.params?.safeParse(params).success ?? true }).toEqual({
        id: endpoint.id,
        params: true,
      });
      const body = bodyOf(endpoint);
      expect({ id: endpoint.id, body: endpoint.body?.safeParse(body).success ?? true }).toEqual({
        id: endpoint.id,
        body: true,
      });
    }
  });
});

describe.each(v1Endpoints.map((endpoint) => [`${endpoint.method} ${endpoint.path}`, endpoint] as const))(
  '%s',
  (_name, endpoint) => {
    const scopes = endpoint.scopes ?? [];
    const otherScopes = knownScopes.filter((scope) => !scopes.includes(scope));

    it('refuses a request without a token with 401', async () => {
      const response = await call(endpoint, undefined);
      expectRefused(response, 401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('refuses a badly signed token with 401, however good its claims', async () => {
      const claims = validClaims(tenant, knownScopes.join(' '));
      const response = await call(endpoint, `Bearer ${await foreignKeyToken(claims)}`);
      expectRefused(response, 401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    });

    it(`refuses a token with every scope but ${scopes.join(' or ')} with 403`, async () => {
      // With no other scope left, the token carries none this service knows.
      const scope = otherScopes.length > 0 ? otherScopes.join(' ') : 'openid';
      const response = await call(endpoint, await bearer({ tenant, scope }));
      expectRefused(response, 403);
    });

    it("answers another tenant's token, with every scope, 404", async () => {
      const response = await call(endpoint, await bearer({ tenant: otherTenant, scope: knownScopes.join(' ') }));
      expectRefused(response, 404);
    });

    it.each(scopes.map((scope: Scope) => [scope]))('lets a token holding only %s past auth', async (scope) => {
      // Run against a route of its own so that writes leave the sample route alone.
      const path = pathOf(endpoint, { ...sampleParams, service: `control-${endpoint.id.toLowerCase()}` });
      const response = await api.request(endpoint.method, path, {
        authorization: await bearer({ tenant, scope }),
        body: bodyOf(endpoint),
      });
      // Past auth, the handler answers: success, or its own 4xx (404 for the control route's absence).
      const answered = ![401, 403].includes(response.status) && response.status < 500;
      expect({ answered, status: response.status, body: response.json }).toMatchObject({ answered: true });
    });
  },
);

describe('after every refusal', () => {
  it('the sample route is as it was created', async () => {
    const response = await api.request('GET', `/v1/tenants/${tenant}/routes/checkout/prod`, {
      authorization: await bearer({ tenant, scope: 'routes:read' }),
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ revision: 1, versions: { v1: { url: `https://${secret}.example` } } });
  });
});
