/**
 * The local API Gateway itself: hostile names in headers and query strings stay data, a
 * malformed path escape is answered, and the server keeps serving afterwards.
 */
import type { LocalServer } from '#local/server';
import { mintLocalToken } from '#local/token';
import { buildOpenApiDocument } from '#shared/http/openapi';
import { startTestApi } from '#test/support/local-stack';

let server: LocalServer;

beforeAll(async () => {
  server = await startTestApi({ throttle: false });
});

afterAll(async () => {
  await server.close();
});

describe('the local API gateway', () => {
  it('serves the OpenAPI 3.1 document generated from the endpoint table', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await response.json()) as { openapi: string };
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'refuses a query parameter named %s with 400 naming it, and keeps serving',
    async (name) => {
      const response = await fetch(`${server.url}/health/live?${name}=1&${name}=2`);
      expect(response.status).toBe(400);
      const problem = (await response.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((error) => error.path)).toEqual([`query.${name}`]);
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    },
  );

  it.each(['constructor', 'valueOf', '__proto__'])('answers a header named %s', async (name) => {
    const response = await fetch(`${server.url}/health/live`, { headers: { [name]: 'x' } });
    expect(response.status).toBe(200);
  });

  it('refuses an unknown query parameter named constructor with 400 naming it', async () => {
    const token = await mintLocalToken({ tenant: 'gateway-probe', scope: 'routes:read' });
    const response = await fetch(`${server.url}/v1/tenants/gateway-probe/routes?constructor=1`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const problem = (await response.json()) as { errors: { path: string; message: string }[] };
    expect(response.status).toBe(400);
    expect(JSON.stringify(problem.errors)).toContain('constructor');
  });

  it("sends each answer with its body's length, never chunked, as API Gateway does", async () => {
    const token = await mintLocalToken({ tenant: 'gateway-probe', scope: 'routes:read' });
    const answers = [
      await fetch(`${server.url}/openapi.json`),
      await fetch(`${server.url}/v1/tenants/gateway-probe/routes`, { headers: { Authorization: `Bearer ${token}` } }),
      await fetch(`${server.url}/v1/tenants/gateway-probe/routes`, { headers: { Authorization: 'Bearer ünïcode' } }),
    ];
    for (const response of answers) {
      const body = Buffer.from(await response.arrayBuffer());
      expect(response.headers.get('transfer-encoding')).toBeNull();
      expect(response.headers.get('content-length')).toBe(String(body.length));
    }
  });

  it('sends a 204 and a 304 with neither a body nor a length', async () => {
    const token = await mintLocalToken({ tenant: 'gateway-empty', scope: 'routes:read routes:write' });
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const route = `${server.url}/v1/tenants/gateway-empty/routes/checkout/prod`;
    const body = JSON.stringify({ versions: { v1: { url: 'https://v1.example.com', weight: 1, state: 'active' } } });
    expect((await fetch(route, { method: 'PUT', headers, body })).status).toBe(201);
    const snapshot = await fetch(`${server.url}/v1/tenants/gateway-empty/snapshot`, { headers });
    const etag = snapshot.headers.get('etag') ?? '';
    const answers = [
      await fetch(`${server.url}/v1/tenants/gateway-empty/snapshot`, { headers: { ...headers, 'If-None-Match': etag } }),
      await fetch(route, { method: 'DELETE', headers }),
    ];
    expect(answers.map((response) => response.status)).toEqual([304, 204]);
    for (const response of answers) {
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('transfer-encoding')).toBeNull();
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it('tells a method the resource does not support from a resource that does not exist', async () => {
    const wrongMethod = await fetch(`${server.url}/health/live`, { method: 'POST' });
    expect(wrongMethod.status).toBe(404);
    expect(((await wrongMethod.json()) as { detail: string }).detail).toBe('POST is not supported here.');
    const nowhere = await fetch(`${server.url}/health/nowhere`);
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as { detail: string }).detail).toBe('No such resource.');
  });

  it('answers a malformed percent-escape in a path parameter', async () => {
    const response = await fetch(`${server.url}/v1/tenants/%E0%A4%A/routes`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});
