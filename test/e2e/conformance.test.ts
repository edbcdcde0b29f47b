/**
 * The published conformance vectors (client/conformance/vectors.json) against the server,
 * over real HTTP: every vector's route is PUT into the local stack, then every vector's
 * request goes to `GET /v1/tenants/{t}/resolve/{s}/{e}` (key and version in the query,
 * headers as request headers) and the answer must be the expected decision, or a problem
 * with the expected status. The client checks the same file in
 * test/unit/client/conformance.test.ts.
 *
 * Two allowances, both stated in the vectors' format: a keyless weighted answer is random,
 * so only its being one of the weighted candidates is checked; and `revision` is compared
 * with the revision the PUT returned (1 on a fresh emulator; more if the tenant already
 * held the route).
 */
import type { LocalServer } from '#local/server';
import { bearer } from '#test/support/auth-tokens';
import { apiClient, type ApiClient, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';
import { loadVectors, partsOf, type ConformanceVector } from '../../client/conformance/vectors.ts';

const file = loadVectors();
const tenants = [...new Set(file.vectors.map((vector) => partsOf(vector.route).tenant))];

let server: LocalServer;
let api: ApiClient;
const resolvers = new Map<string, string>();
/** The revision each route got when the test wrote it. */
const written = new Map<string, number>();
const answers = new Map<string, ApiResponse>();

/** Runs `work` over `items`, `width` at a time. */
async function inPool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next];
        next += 1;
        if (item !== undefined) await work(item);
      }
    }),
  );
}

function resolvePath(vector: ConformanceVector): string {
  const { tenant, service, env } = partsOf(vector.route);
  const query: string[] = [];
  if (vector.request.key !== undefined) query.push(`key=${encodeURIComponent(vector.request.key)}`);
  if (vector.request.version !== undefined) query.push(`version=${encodeURIComponent(vector.request.version)}`);
  return `/v1/tenants/${tenant}/resolve/${service}/${env}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

beforeAll(async () => {
  server = await startTestApi({ throttle: false });
  api = apiClient(server.url);
  const writers = new Map<string, string>();
  for (const tenant of tenants) {
    writers.set(tenant, await bearer({ tenant, scope: 'routes:write' }));
    resolvers.set(tenant, await bearer({ tenant, scope: 'resolve' }));
  }
  await inPool(Object.entries(file.routes), 4, async ([id, route]) => {
    const response = await api.request('PUT', `/v1/tenants/${route.tenant}/routes/${route.service}/${route.env}`, {
      authorization: writers.get(route.tenant) ?? '',
      body: { versions: route.versions, rules: route.rules, ...(route.defaultVersion === undefined ? {} : { defaultVersion: route.defaultVersion }) },
    });
    expect({ id, status: response.status, body: response.json }).toMatchObject({ id, status: expect.any(Number) });
    if (response.status !== 200 && response.status !== 201) throw new Error(`PUT ${id}: ${response.status} ${response.text}`);
    written.set(id, (response.json as { revision: number }).revision);
  });
  await inPool(file.vectors, 6, async (vector) => {
    const { tenant } = partsOf(vector.route);
    answers.set(vector.name, await api.request('GET', resolvePath(vector), { authorization: resolvers.get(tenant) ?? '', headers: vector.request.headers }));
  });
}, 300_000);

afterAll(async () => {
  await server.close();
});

describe('the conformance vectors over HTTP against the local stack', () => {
  it('checks at least 200 vectors', () => {
    expect(file.vectors.length).toBeGreaterThanOrEqual(200);
    expect(answers.size).toBe(file.vectors.length);
  });

  it.each(file.vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const answer = answers.get(vector.name);
    if (answer === undefined) throw new Error('no answer recorded');
    const { expected } = vector;
    if (expected.status !== 200) {
      expect({ status: answer.status, contentType: answer.headers.get('content-type') }).toEqual({
        status: expected.status,
        contentType: 'application/problem+json',
      });
      return;
    }
    const revision = written.get(vector.route);
    expect(answer.status).toBe(200);
    if ('oneOf' in expected) {
      const { version, reason, revision: answered } = answer.json as { version: string; reason: string; revision: number };
      expect({ reason, revision: answered }).toEqual({ reason: 'weighted', revision });
      expect(expected.oneOf).toContain(version);
    } else {
      const { status: _status, ...decision } = expected;
      expect(answer.json).toEqual({ ...decision, revision });
    }
  });
});
