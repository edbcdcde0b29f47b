/**
 * What every response carries, over real HTTP: security headers, an `x-request-id` that
 * echoes the caller's, no CORS headers unless CORS_ALLOWED_ORIGINS is set, and error
 * bodies with no stack traces or internal names (API.md, HTTP API; STYLE.md, Errors).
 *
 * The handler factory reads CORS_ALLOWED_ORIGINS when its module is imported, so the
 * CORS-on case runs the same server in a child process with the variable set.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ResourceNotFoundException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { repoRoot } from '#local/paths';
import { childProcessEnv } from '#local/lambda-runtime';
import type { LocalServer } from '#local/server';
import { endpoints } from '#shared/http/endpoints';
import { dynamoDbClient, tableName } from '#shared/clients/dynamodb';
import { bearer } from '#test/support/auth-tokens';
import { injectFault, type InjectedFault } from '#test/support/fault-injection';
import { apiClient, expectProblem, type ApiClient, type ApiRequest, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';

const run = randomUUID().slice(0, 8);
const tenant = `headers-${run}`;
const routePath = `/v1/tenants/${tenant}/routes/checkout/prod`;

/** Text that betrays internals: stack frames, file paths, module and resource names. */
const internals = [
  /\bat \//,
  /\bat [\w.<>]+ \(/,
  /node_modules/,
  /\.ts:\d+/,
  /\/work\//,
  new RegExp(tableName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  /Exception/,
  /DynamoDB/i,
];

function expectSecurityHeaders(response: ApiResponse): void {
  const headers = Object.fromEntries(response.headers);
  expect(headers).toMatchObject({
    'x-content-type-options': 'nosniff',
    'strict-transport-security': expect.stringMatching(/^max-age=[1-9]\d*/),
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-request-id': expect.stringMatching(/^[\w.:-]{1,128}$/),
  });
}

function expectNoCors(response: ApiResponse): void {
  const cors = [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
  expect(cors).toEqual([]);
}

function expectNoInternals(response: ApiResponse): void {
  for (const pattern of internals) expect(response.text).not.toMatch(pattern);
}

let server: LocalServer;
let api: ApiClient;
let readToken: string;
let writeToken: string;

beforeAll(async () => {
  expect(process.env.CORS_ALLOWED_ORIGINS).toBeUndefined();
  server = await startTestApi({ throttle: false });
  api = apiClient(server.url);
  readToken = await bearer({ tenant, scope: 'routes:read' });
  writeToken = await bearer({ tenant, scope: 'routes:write' });
  const created = await api.request('PUT', routePath, {
    authorization: writeToken,
    body: { versions: { v1: { url: 'https://checkout.example', weight: 100, state: 'active' } } },
  });
  expect(created.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await server.close();
});

interface Case {
  name: string;
  method: string;
  path: string;
  status: number;
  request?: () => Promise<ApiRequest>;
}

const cases: Case[] = [
  { name: 'liveness', method: 'GET', path: '/health/live', status: 200 },
  { name: 'the OpenAPI document', method: 'GET', path: '/openapi.json', status: 200 },
  {
    name: 'a route',
    method: 'GET',
    path: routePath,
    status: 200,
    request: async () => ({ authorization: readToken }),
  },
  {
    name: 'a validation failure',
    method: 'PUT',
    path: routePath,
    status: 400,
    request: async () => ({
      authorization: writeToken,
      body: { versions: { v1: { url: 'http://169.254.169.254/latest', weight: 1, state: 'active' } } },
    }),
  },
  {
    name: 'a body that is not JSON',
    method: 'PUT',
    path: routePath,
    status: 400,
    request: async () => ({ authorization: writeToken, body: '{"versions":', headers: { 'Content-Type': 'application/json' } }),
  },
  { name: 'no token', method: 'GET', path: routePath, status: 401 },
  {
    name: 'a missing scope',
    method: 'GET',
    path: routePath,
    status: 403,
    request: async () => ({ authorization: writeToken }),
  },
  {
    name: "another tenant's path",
    method: 'GET',
    path: `/v1/tenants/other-${run}/routes/checkout/prod`,
    status: 404,
    request: async () => ({ authorization: readToken }),
  },
  {
    name: 'a missing route',
    method: 'GET',
    path: `/v1/tenants/${tenant}/routes/nothing/prod`,
    status: 404,
    request: async () => ({ authorization: readToken }),
  },
  { name: 'an unknown path', method: 'GET', path: '/no/such/thing', status: 404 },
  { name: 'a method the path does not have', method: 'POST', path: '/health/live', status: 404 },
];

describe.each(cases)('$name ($method $path)', ({ method, path: requestPath, status, request }) => {
  it(`answers ${status} with the security headers and no CORS headers`, async () => {
    const response = await api.request(method, requestPath, await request?.());
    expect({ status: response.status, body: response.json }).toMatchObject({ status });
    expectSecurityHeaders(response);
    expectNoCors(response);
    if (status >= 400) {
      expectProblem(response, status);
      expectNoInternals(response);
    }
  });

  it("echoes the caller's x-request-id, in the header and in a problem body", async () => {
    const requestId = `caller-${randomUUID()}`;
    const base = (await request?.()) ?? {};
    const response = await api.request(method, requestPath, {
      ...base,
      headers: { ...base.headers, 'X-Request-Id': requestId },
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    if (status >= 400) expect(response.json).toMatchObject({ correlationId: requestId });
  });
});

it('gives each request its own x-request-id when the caller sends none', async () => {
  const [first, second] = await Promise.all([api.request('GET', '/health/live'), api.request('GET', '/health/live')]);
  expect(first?.headers.get('x-request-id')).toBeTruthy();
  expect(first?.headers.get('x-request-id')).not.toBe(second?.headers.get('x-request-id'));
});

describe('a 429 from the throttle', () => {
  let throttled: LocalServer;

  beforeAll(async () => {
    throttled = await startTestApi({
      endpoints: [{ ...endpoints.getLive, throttle: { rateLimit: 1, burstLimit: 1 } }],
      // A stopped clock: the one token never comes back, however slowly the requests go.
      clock: () => 0,
    });
  });

  afterAll(async () => {
    await throttled.close();
  });

  it("carries the security headers and the caller's x-request-id, like every other response", async () => {
    const client = apiClient(throttled.url);
    expect((await client.request('GET', '/health/live')).status).toBe(200);
    const requestId = `caller-${randomUUID()}`;
    const response = await client.request('GET', '/health/live', { headers: { 'X-Request-Id': requestId } });
    expectProblem(response, 429);
    expectNoInternals(response);
    expectNoCors(response);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    expectSecurityHeaders(response);
  });
});

describe('when DynamoDB fails', () => {
  let faults: InjectedFault[] = [];

  function failReads(error: () => Error): void {
    // The document client's GetCommand is sent as GetItem; the name seen depends on the layer.
    faults = ['GetItemCommand', 'GetCommand'].map((command) =>
      injectFault(dynamoDbClient, { command, times: 100, error }),
    );
  }

  afterEach(() => {
    for (const fault of faults) fault.remove();
    faults = [];
  });

  it('answers an unknown failure with a 500 that names only the request id', async () => {
    failReads(() => {
      const error = new ResourceNotFoundException({
        message: `Requested resource not found: Table: ${tableName} not found`,
        $metadata: { httpStatusCode: 400 },
      });
      error.stack = `ResourceNotFoundException: ${error.message}\n    at /work/main/node_modules/@aws-sdk/x.js:1:1`;
      return error;
    });
    const requestId = `caller-${randomUUID()}`;
    const response = await api.request('GET', routePath, {
      authorization: readToken,
      headers: { 'X-Request-Id': requestId },
    });
    expect(faults.reduce((sum, fault) => sum + fault.failed, 0)).toBeGreaterThan(0);
    const problem = expectProblem(response, 500);
    // The caller's id is echoed as the correlation id; the body names the server's own id.
    expect(problem).toMatchObject({ title: 'Internal Server Error', correlationId: requestId });
    expect(problem.requestId).not.toBe(requestId);
    expect(problem.detail).toContain(String(problem.requestId));
    expectSecurityHeaders(response);
    expectNoInternals(response);
    expect(response.text).not.toContain('Requested resource not found');
  });

  it('answers a throttled table with a 503 and Retry-After, naming nothing internal', async () => {
    failReads(
      () =>
        new ProvisionedThroughputExceededException({
          message: `Throughput exceeds the current capacity of your table ${tableName}`,
          $metadata: { httpStatusCode: 400 },
        }),
    );
    const response = await api.request('GET', routePath, { authorization: readToken });
    expectProblem(response, 503);
    expect(response.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expectSecurityHeaders(response);
    expectNoInternals(response);
  });
});

describe('with CORS_ALLOWED_ORIGINS set (a server in its own process)', () => {
  const allowed = 'https://console.example';
  let child: ChildProcessWithoutNullStreams;
  let corsApi: ApiClient;

  beforeAll(async () => {
    // The same startLocalServer, in a process whose handler modules see the variable at import.
    const script = [
      "const { startLocalServer } = await import('#local/server');",
      'const server = await startLocalServer({ port: 0, throttle: false });',
      "console.log('LISTENING ' + server.url);",
      "process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));",
    ].join('\n');
    child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['--input-type=module', '--eval', script], {
      cwd: repoRoot,
      env: childProcessEnv({ CORS_ALLOWED_ORIGINS: allowed }),
    });
    const url = await new Promise<string>((resolve, reject) => {
      let printed = '';
      const timer = setTimeout(() => reject(new Error(`the CORS server did not start: ${printed}`)), 20_000);
      const onOutput = (chunk: Buffer): void => {
        printed += chunk.toString();
        const match = /LISTENING (http:\/\/\S+)/.exec(printed);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', onOutput);
      child.stderr.on('data', onOutput);
      child.once('exit', (code) => reject(new Error(`the CORS server exited with ${String(code)}: ${printed}`)));
    });
    corsApi = apiClient(url);
  }, 30_000);

  afterAll(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  it('allows the configured origin, on a success and on a problem', async () => {
    for (const [requestPath, status] of [
      ['/health/live', 200],
      [routePath, 401],
    ] as const) {
      const response = await corsApi.request('GET', requestPath, { headers: { Origin: allowed } });
      expect(response.status).toBe(status);
      expect(response.headers.get('access-control-allow-origin')).toBe(allowed);
      expect(response.headers.get('vary')).toMatch(/Origin/i);
      expectSecurityHeaders(response);
    }
  });

  it('does not allow any other origin', async () => {
    const response = await corsApi.request('GET', '/health/live', { headers: { Origin: 'https://evil.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
