/**
 * Resolve through the real handler (middleware chain, auth, validation, route cache, store)
 * against the emulator: every reason, the refusals, stickiness end to end, the cache in
 * front of an eventually consistent GetItem, stale-if-error and the circuit breaker under
 * injected DynamoDB faults (the real SDK retry strategy runs first), and the Cache-Status
 * (RFC 9211) and Age headers that mark every answer's freshness (API.md).
 */
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { dynamoDbClient } from '#shared/clients/dynamodb';
import { stickyBucket, type Resolution } from '#shared/domain/resolve';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import { bearer } from '#test/support/auth-tokens';
import { injectFault } from '#test/support/fault-injection';
import {
  expectProblem,
  registry,
  twoVersionBody,
  uniqueTenant,
  version,
  type Response,
} from '../registry/registry-client.ts';

// Short cache settings for this file, set before the handler module reads them at import;
// long enough that two calls in a row fall within one TTL on a busy machine.
const TTL_MS = 1000;
Object.assign(process.env, {
  RESOLVE_CACHE_TTL_MS: String(TTL_MS),
  RESOLVE_CACHE_NEGATIVE_TTL_MS: String(TTL_MS),
  RESOLVE_BREAKER_FAILURES: '2',
  RESOLVE_BREAKER_COOL_DOWN_MS: '60000',
  // No background refresh here, so that fault counts see only the loads a caller waits for
  // (refresh ahead is covered in test/unit/resolve/route-cache.test.ts).
  RESOLVE_CACHE_REFRESH_AHEAD_MS: '0',
});

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
let handler: Handler;
let routeCache: { clear(): void; readonly breakerState: string };

beforeAll(async () => {
  ({ handler } = await import('#functions/resolve/resolve-route'));
  ({ routeCache } = await import('#shared/resolve/resolve-route'));
});

beforeEach(() => {
  routeCache.clear();
});

interface ResolveOptions {
  tenant: string;
  service?: string;
  env?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  authorization?: string;
}

async function resolveCall(options: ResolveOptions): Promise<Response<Resolution>> {
  const { tenant, service = 'checkout', env = 'prod' } = options;
  const authorization = options.authorization ?? (await bearer({ tenant, scope: 'resolve' }));
  const raw = await handler(
    apiGatewayEvent({
      method: 'GET',
      path: `/v1/tenants/${tenant}/resolve/${service}/${env}`,
      pathParameters: { tenant, service, env },
      resource: '/v1/tenants/{tenant}/resolve/{service}/{env}',
      headers: { Authorization: authorization, ...options.headers },
      ...(options.query === undefined ? {} : { query: options.query }),
    }),
    lambdaContext(),
  );
  const headers = Object.fromEntries(
    Object.entries(raw.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  return { status: raw.statusCode, headers, body: JSON.parse(raw.body) as Resolution, raw };
}

function serverError(): Error {
  return new DynamoDBServiceException({
    name: 'InternalServerError',
    $fault: 'server',
    message: 'injected',
    $metadata: { httpStatusCode: 500 },
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GET /v1/tenants/{tenant}/resolve/{service}/{env}', () => {
  it('resolves by rule, pin, weight and default, with the route revision and no-store', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    expect((await api.putRoute(twoVersionBody())).status).toBe(201);

    const byRule = await resolveCall({ tenant, headers: { 'X-Canary': '1' } });
    expect(byRule.status).toBe(200);
    expect(byRule.body).toEqual({ version: 'v2', url: version('v2').url, revision: 1, reason: 'rule' });
    expect(byRule.headers['cache-control']).toBe('no-store');
    expect(byRule.headers['content-type']).toBe('application/json');
    expect(byRule.headers['x-request-id']).toEqual(expect.any(String));

    const pinned = await resolveCall({ tenant, query: { version: 'v1' }, headers: { 'x-canary': '1' } });
    expect(pinned.body).toEqual({ version: 'v1', url: version('v1').url, revision: 1, reason: 'pinned' });

    const weighted = await resolveCall({ tenant, query: { key: 'alice' } });
    expect(weighted.body).toMatchObject({ reason: 'weighted', revision: 1 });
    expect(['v1', 'v2']).toContain(weighted.body.version);

    await api.putRoute({ versions: { v1: version('v1', 0), v2: version('v2', 0) }, defaultVersion: 'v2', rules: [] });
    await sleep(TTL_MS + 50);
    const byDefault = await resolveCall({ tenant, query: { key: 'alice' } });
    expect(byDefault.body).toEqual({ version: 'v2', url: version('v2').url, revision: 2, reason: 'default' });
  });

  it('resolves a pinned draining version, and refuses a disabled or unknown one with 404', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute({
      versions: { v1: version('v1', 100), v2: version('v2', 0, 'draining'), v3: version('v3', 0, 'disabled') },
      defaultVersion: 'v1',
      rules: [],
    });
    expect((await resolveCall({ tenant, query: { version: 'v2' } })).body).toMatchObject({
      version: 'v2',
      reason: 'pinned',
    });
    expectProblem(await resolveCall({ tenant, query: { version: 'v3' } }), 404);
    expectProblem(await resolveCall({ tenant, query: { version: 'v9' } }), 404);
  });

  it('returns 503 when no version can take traffic', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute({
      versions: { v1: version('v1', 0, 'draining'), v2: version('v2', 50, 'disabled') },
      defaultVersion: 'v1',
      rules: [],
    });
    const response = await resolveCall({ tenant });
    const problem = expectProblem(response, 503);
    expect(problem.detail).toBe('No version of this route can take traffic.');
    // Refusals say how fresh the route they were decided on is, as answers do.
    expect(response.headers['cache-status']).toMatch(/^traffic-manager; (hit|fwd=miss)/);
  });

  it('returns 404 "No such route." for a route that does not exist or was deleted', async () => {
    const tenant = uniqueTenant();
    expect(expectProblem(await resolveCall({ tenant }), 404).detail).toBe('No such route.');
    const api = registry(tenant);
    await api.putRoute(twoVersionBody(), {}, 'cart', 'dev');
    await api.deleteRoute({}, 'cart', 'dev');
    expect(expectProblem(await resolveCall({ tenant, service: 'cart', env: 'dev' }), 404).detail).toBe(
      'No such route.',
    );
  });

  it('marks every answer with Cache-Status: a miss stored, a hit with its ttl and Age, an expired copy reloaded', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute(twoVersionBody());
    const miss = await resolveCall({ tenant, query: { key: 'alice' } });
    expect(miss.headers['cache-status']).toBe('traffic-manager; fwd=miss; stored');
    expect(miss.headers.age).toBeUndefined();
    const hit = await resolveCall({ tenant, query: { key: 'alice' } });
    // TTL 1 s here: less than one whole second of freshness is left.
    expect(hit.headers['cache-status']).toBe('traffic-manager; hit; ttl=0');
    expect(hit.headers.age).toBe('0');
    await sleep(TTL_MS + 50);
    expect((await resolveCall({ tenant, query: { key: 'alice' } })).headers['cache-status']).toBe(
      'traffic-manager; fwd=stale; stored',
    );
    // Refusals carry it too: a pinned version that cannot be used, a route that does not exist.
    const refused = await resolveCall({ tenant, query: { version: 'v9' } });
    expectProblem(refused, 404);
    expect(refused.headers['cache-status']).toBe('traffic-manager; hit; ttl=0');
    const absent = await resolveCall({ tenant, service: 'nothing' });
    expectProblem(absent, 404);
    expect(absent.headers['cache-status']).toBe('traffic-manager; fwd=miss; stored');
  });

  it('refuses bad query parameters with 400 naming them', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute(twoVersionBody());
    const queries: Record<string, string>[] = [{ other: '1' }, { version: '-bad' }, { key: '' }, { key: 'k'.repeat(257) }];
    for (const query of queries) {
      const problem = expectProblem(await resolveCall({ tenant, query }), 400);
      expect(problem.errors?.[0]?.path).toMatch(/^query/);
    }
  });

  it('needs the resolve scope (403) and answers another tenant with 404', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute(twoVersionBody());
    const readOnly = await bearer({ tenant, scope: 'routes:read routes:write' });
    expectProblem(await resolveCall({ tenant, authorization: readOnly }), 403);
    const foreign = await bearer({ tenant: uniqueTenant(), scope: 'resolve' });
    const refused = await resolveCall({ tenant, authorization: foreign });
    expectProblem(refused, 404);
    expect(refused.raw.body).not.toContain('checkout.example.com');
    expectProblem(await resolveCall({ tenant, authorization: 'Bearer nonsense' }), 401);
  });

  it('sends each key to the version its sticky bucket names, every time', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute({
      versions: { v1: version('v1', 50), v2: version('v2', 50) },
      defaultVersion: 'v1',
      rules: [],
    });
    const seen = new Set<string>();
    for (let index = 0; index < 40; index += 1) {
      const key = `user-${index}`;
      const expected = stickyBucket({ tenant, service: 'checkout', env: 'prod' }, key) < 5000 ? 'v1' : 'v2';
      const first = await resolveCall({ tenant, query: { key } });
      const second = await resolveCall({ tenant, query: { key } });
      expect([first.body.version, second.body.version]).toEqual([expected, expected]);
      seen.add(expected);
    }
    expect(seen).toEqual(new Set(['v1', 'v2']));
  });

  it('reads eventually consistent, serves from memory within the TTL and sees a change after it', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    const reads: unknown[] = [];
    const name = `recordGetItem-${tenant}`;
    dynamoDbClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetItemCommand') {
          const input = (args as { input: { Key?: unknown; ConsistentRead?: boolean } }).input;
          if (JSON.stringify(input.Key).includes(tenant)) reads.push(input.ConsistentRead);
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      expect((await resolveCall({ tenant, query: { version: 'v1' } })).body.revision).toBe(1);
      expect(reads).toEqual([false]);
      // Within the TTL: memory only, so a failing table goes unnoticed.
      const fault = injectFault(dynamoDbClient, { command: 'GetItemCommand', times: 100, error: serverError });
      try {
        expect((await resolveCall({ tenant, query: { version: 'v1' } })).status).toBe(200);
        expect(fault.attempts).toBe(0);
      } finally {
        fault.remove();
      }
      // The write reads consistently itself; only the resolve path's reads count below.
      expect((await api.patchVersion('v1', { weight: 80 })).body.revision).toBe(2);
      reads.length = 0;
      await sleep(TTL_MS + 50);
      expect((await resolveCall({ tenant, query: { version: 'v1' } })).body.revision).toBe(2);
      expect(reads).toEqual([false]);
    } finally {
      dynamoDbClient.middlewareStack.remove(name);
    }
  });

  it('serves the last-known-good route when DynamoDB keeps failing after the SDK retries', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute(twoVersionBody());
    const warm = await resolveCall({ tenant, query: { key: 'alice' } });
    expect(warm.status).toBe(200);
    await sleep(TTL_MS + 50);

    const fault = injectFault(dynamoDbClient, { command: 'GetItemCommand', times: 100, error: serverError });
    try {
      const stale = await resolveCall({ tenant, query: { key: 'alice' } });
      expect(stale.status).toBe(200);
      expect(stale.body).toEqual(warm.body);
      expect(stale.headers['cache-status']).toMatch(/^traffic-manager; hit; ttl=-\d+; detail=stale-if-error$/);
      expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(1);
      // The SDK's standard strategy tried three times before the cache fell back.
      expect(fault.attempts).toBe(3);

      // A route never loaded has no last-known-good: 503 with Retry-After.
      const cold = uniqueTenant();
      const refused = await resolveCall({ tenant: cold });
      expectProblem(refused, 503);
      expect(refused.headers['retry-after']).toEqual(expect.any(String));
      expect(refused.headers['cache-status']).toBe('traffic-manager; fwd=miss; detail=store-unavailable');
    } finally {
      fault.remove();
    }
  });

  it('opens the breaker after consecutive failures: no DynamoDB calls, last-known-good or 503', async () => {
    const tenant = uniqueTenant();
    await registry(tenant).putRoute(twoVersionBody());
    expect((await resolveCall({ tenant })).status).toBe(200);
    await sleep(TTL_MS + 50);

    const fault = injectFault(dynamoDbClient, { command: 'GetItemCommand', times: 1000, error: serverError });
    const { metrics } = await import('#shared/observability');
    const { metricNames } = await import('#shared/metric-names');
    const emitted: string[] = [];
    const addMetric = metrics.addMetric.bind(metrics);
    metrics.addMetric = (name, unit, value, resolution) => {
      emitted.push(name);
      return addMetric(name, unit, value, resolution);
    };
    try {
      // Two failed loads (three attempts each) open the breaker (RESOLVE_BREAKER_FAILURES=2).
      expect((await resolveCall({ tenant, query: { version: 'v2' } })).body.version).toBe('v2');
      expectProblem(await resolveCall({ tenant: uniqueTenant() }), 503);
      expect(routeCache.breakerState).toBe('open');
      expect(emitted.filter((name) => name === metricNames.resolveBreakerOpened)).toHaveLength(1);
      const attempts = fault.attempts;
      expect(attempts).toBe(6);

      expect((await resolveCall({ tenant, query: { version: 'v1' } })).body).toMatchObject({
        version: 'v1',
        revision: 1,
      });
      const refused = await resolveCall({ tenant: uniqueTenant() });
      expectProblem(refused, 503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50);
      expect(fault.attempts).toBe(attempts);
    } finally {
      metrics.addMetric = addMetric;
      fault.remove();
    }
  });
});
