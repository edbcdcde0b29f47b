/**
 * The client against the published conformance vectors: a client per tenant loads a
 * snapshot holding the vectors' routes, and every vector's request resolved through
 * `client.resolve` gives the expected decision (or throws a ResolveError with its status).
 * The same file is checked over HTTP against the server in test/e2e/conformance.test.ts.
 * Also: the committed file is exactly what its generator writes, and covers what it must.
 */
import { readFileSync } from 'node:fs';
import { createClient, ResolveError, type Route, type TrafficManagerClient } from '../../../client/index.ts';
import { buildConformanceFile, serialiseConformanceFile } from '../../../client/conformance/generate-vectors.ts';
import { referenceBucket, referenceFnv1a32 } from '../../../client/conformance/reference-resolve.ts';
import { loadVectors, partsOf, vectorsUrl, type ConformanceVector } from '../../../client/conformance/vectors.ts';
import { FakeSnapshotEndpoint, ManualScheduler } from './client-fakes.ts';

const file = loadVectors();
const clients = new Map<string, TrafficManagerClient>();

beforeAll(async () => {
  const byTenant = new Map<string, Route[]>();
  for (const route of Object.values(file.routes)) byTenant.set(route.tenant, [...(byTenant.get(route.tenant) ?? []), route]);
  for (const vector of file.vectors) {
    const { tenant } = partsOf(vector.route);
    if (!byTenant.has(tenant)) byTenant.set(tenant, []);
  }
  for (const [tenant, routes] of byTenant) {
    const endpoint = new FakeSnapshotEndpoint(tenant);
    endpoint.script = [{ status: 200, routes, etag: '"conformance"' }];
    const client = createClient({
      baseUrl: 'https://api.example/prod',
      tenant,
      getToken: () => 'token',
      fetch: endpoint.fetch,
      scheduler: new ManualScheduler(),
    });
    await client.start();
    clients.set(tenant, client);
  }
});

afterAll(async () => {
  await Promise.all([...clients.values()].map((client) => client.close()));
});

function resolveVector(vector: ConformanceVector) {
  const { tenant, service, env } = partsOf(vector.route);
  const client = clients.get(tenant);
  if (client === undefined) throw new Error(`no client for ${tenant}`);
  return client.resolve(service, env, vector.request);
}

describe('the conformance vectors through client.resolve', () => {
  it.each(file.vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const { expected } = vector;
    if (expected.status !== 200) {
      let thrown: unknown;
      try {
        resolveVector(vector);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ResolveError);
      expect((thrown as ResolveError).status).toBe(expected.status);
    } else if ('oneOf' in expected) {
      // Random by weight: each answer must be one of the weighted candidates.
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const answer = resolveVector(vector);
        expect(answer).toMatchObject({ reason: 'weighted', revision: expected.revision });
        expect(expected.oneOf).toContain(answer.version);
      }
    } else {
      const { status: _status, ...decision } = expected;
      expect(resolveVector(vector)).toEqual(decision);
    }
  });
});

describe('the conformance file', () => {
  it('is exactly what client/conformance/generate-vectors.ts writes', () => {
    expect(readFileSync(vectorsUrl, 'utf8')).toBe(serialiseConformanceFile(buildConformanceFile()));
  });

  it('covers at least 200 vectors and every outcome the brief lists', () => {
    const { vectors, routes } = file;
    expect(vectors.length).toBeGreaterThanOrEqual(200);
    // Names identify vectors in both test files' reports.
    expect(new Set(vectors.map((vector) => vector.name)).size).toBe(vectors.length);
    const statuses = new Set(vectors.map((vector) => vector.expected.status));
    expect([...statuses].sort()).toEqual([200, 400, 404, 503]);
    const reasons = new Set(vectors.flatMap((vector) => ('reason' in vector.expected ? [vector.expected.reason] : [])));
    expect([...reasons].sort()).toEqual(['default', 'pinned', 'rule', 'weighted']);
    expect(vectors.some((vector) => vector.request.key !== undefined && !/^[\x20-\x7e]*$/.test(vector.request.key))).toBe(true);
    expect(vectors.some((vector) => 'oneOf' in vector.expected)).toBe(true);
    const allRoutes = Object.values(routes);
    expect(allRoutes.some((route) => Object.keys(route.versions).length === 50)).toBe(true);
    expect(allRoutes.some((route) => route.rules.length === 50)).toBe(true);
    expect(allRoutes.some((route) => route.defaultVersion === undefined)).toBe(true);
    const states = new Set(allRoutes.flatMap((route) => Object.values(route.versions).map((version) => version.state)));
    expect([...states].sort()).toEqual(['active', 'disabled', 'draining']);
    expect(allRoutes.some((route) => Object.values(route.versions).some((version) => version.weight === 0 && version.state === 'active'))).toBe(true);
  });

  it("computes expectations with a reference FNV-1a that matches the algorithm's published values", () => {
    // From the FNV reference (Fowler, Noll, Vo): FNV-1a 32 of "", "a" and "foobar".
    expect(referenceFnv1a32('')).toBe(0x811c9dc5);
    expect(referenceFnv1a32('a')).toBe(0xe40c292c);
    expect(referenceFnv1a32('foobar')).toBe(0xbf9cf968);
    expect(referenceBucket({ tenant: 'acme', service: 'checkout', env: 'prod' }, 'ключ')).toBe(7866);
  });
});
