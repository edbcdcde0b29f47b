/**
 * Resolve over real HTTP against the local API (API.md, Resolve): a user creates a route
 * with the registry, then asks which upstream to use by rule, pin, sticky key and default;
 * a change shows up once the route cache's TTL has passed; another tenant's token gets the
 * same 404 as a missing route.
 */
import { randomUUID } from 'node:crypto';
import type { LocalServer } from '#local/server';
import { bearer } from '#test/support/auth-tokens';
import { apiClient, expectProblem, type ApiClient, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';

const run = randomUUID().slice(0, 8);
const tenant = `res-${run}`;
const otherTenant = `other-${run}`;
const routePath = `/v1/tenants/${tenant}/routes/checkout/prod`;
const resolvePath = `/v1/tenants/${tenant}/resolve/checkout/prod`;

let server: LocalServer;
let api: ApiClient;
let writer: string;
let resolver: string;

function upstream(name: string): string {
  return `https://${name}.checkout-${run}.example`;
}

async function resolveWith(query: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return api.request('GET', `${resolvePath}${query}`, { authorization: resolver, headers });
}

beforeAll(async () => {
  server = await startTestApi({ throttle: false });
  api = apiClient(server.url);
  writer = await bearer({ tenant, scope: 'routes:write' });
  resolver = await bearer({ tenant, scope: 'resolve' });
  const created = await api.request('PUT', routePath, {
    authorization: writer,
    body: {
      versions: {
        v1: { url: upstream('v1'), weight: 90, state: 'active' },
        v2: { url: upstream('v2'), weight: 10, state: 'active' },
      },
      defaultVersion: 'v1',
      rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
    },
  });
  expect({ status: created.status, body: created.json }).toMatchObject({ status: 201 });
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe('GET /v1/tenants/{tenant}/resolve/{service}/{env} over HTTP', () => {
  it('resolves a rule from a request header, whatever its case', async () => {
    const response = await resolveWith('', { 'X-Canary': '1' });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ version: 'v2', url: upstream('v2'), revision: 1, reason: 'rule' });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toEqual(expect.any(String));
    // RFC 9211 through the local gateway: a hit within the TTL or a stored miss.
    expect(response.headers.get('cache-status')).toMatch(/^traffic-manager; (hit; ttl=\d+|fwd=(miss|stale); stored)$/);
  });

  it('pins a version with ?version=, and refuses an unknown one with 404', async () => {
    expect((await resolveWith('?version=v2')).json).toEqual({
      version: 'v2',
      url: upstream('v2'),
      revision: 1,
      reason: 'pinned',
    });
    expectProblem(await resolveWith('?version=v9'), 404);
  });

  it('gives a key the same version on every call', async () => {
    for (const key of ['alice', 'bob', 'carol', 'user%2F42']) {
      const answers = await Promise.all([1, 2, 3].map(() => resolveWith(`?key=${key}`)));
      const versions = answers.map((answer) => (answer.json as { version: string; reason: string }).version);
      expect(answers.map((answer) => (answer.json as { reason: string }).reason)).toEqual(['weighted', 'weighted', 'weighted']);
      expect(new Set(versions).size).toBe(1);
    }
  });

  it('refuses an unexpected query parameter with 400', async () => {
    expectProblem(await resolveWith('?weight=100'), 400);
  });

  it('answers a missing route with 404 "No such route."', async () => {
    const response = await api.request('GET', `/v1/tenants/${tenant}/resolve/nothing/prod`, { authorization: resolver });
    expect(expectProblem(response, 404).detail).toBe('No such route.');
    expect(response.headers.get('cache-status')).toMatch(/^traffic-manager; /);
  });

  it('needs the resolve scope: 401 without a token, 403 with routes:write only', async () => {
    expectProblem(await api.request('GET', resolvePath), 401);
    expectProblem(await api.request('GET', resolvePath, { authorization: writer }), 403);
  });

  it('answers another tenant with the 404 a missing route gets, and none of the data', async () => {
    const foreign = await bearer({ tenant: otherTenant, scope: 'resolve' });
    const response = await api.request('GET', resolvePath, { authorization: foreign, headers: { 'x-canary': '1' } });
    const problem = expectProblem(response, 404);
    expect(response.text).not.toContain(`checkout-${run}`);
    const missing = await api.request('GET', `/v1/tenants/${otherTenant}/resolve/checkout/prod`, {
      authorization: foreign,
    });
    expect(problem.detail).toBe(expectProblem(missing, 404).detail);
  });

  it('follows a change once the route cache has expired, then falls back to the default', async () => {
    const patched = await api.request('PUT', routePath, {
      authorization: writer,
      body: {
        versions: {
          v1: { url: upstream('v1'), weight: 0, state: 'active' },
          v2: { url: upstream('v2'), weight: 0, state: 'draining' },
        },
        defaultVersion: 'v1',
        rules: [],
      },
    });
    expect(patched.status).toBe(200);
    let answer: ApiResponse | undefined;
    // The 2 s cache TTL, then a reload through the emulator: poll rather than guess how long.
    const deadline = Date.now() + 30_000;
    do {
      answer = await resolveWith('?key=alice');
      if ((answer.json as { revision?: number }).revision === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < deadline);
    expect(answer.json).toEqual({ version: 'v1', url: upstream('v1'), revision: 2, reason: 'default' });
    // A draining version is no longer resolved by weight, but still by pin.
    expect((await resolveWith('?version=v2')).json).toMatchObject({ version: 'v2', reason: 'pinned' });
  });
});
