/**
 * Throttling over real HTTP (API.md, Throttling): the local server applies the endpoint
 * table's per-method token buckets, so a burst over the limit gets 429 with `Retry-After`
 * and a problem body, and waiting that long is enough.
 */
import type { LocalServer } from '#local/server';
import { endpoints, type EndpointDefinition } from '#shared/http/endpoints';
import { apiClient, expectProblem, type ApiResponse } from '#test/support/http-client';
import { startTestApi } from '#test/support/local-stack';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `Retry-After` of a 429, checked to be a positive whole number of seconds (RFC 9110 delay-seconds). */
function retryAfterOf(response: ApiResponse): number {
  const value = response.headers.get('retry-after') ?? '';
  expect(value).toMatch(/^[1-9]\d*$/);
  return Number(value);
}

function expectThrottled(response: ApiResponse): number {
  const problem = expectProblem(response, 429);
  expect(problem.title).toBe('Too Many Requests');
  return retryAfterOf(response);
}

describe('throttling with the real endpoint table', () => {
  let server: LocalServer;

  beforeAll(async () => {
    server = await startTestApi();
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers 429 with Retry-After past the burst of GET /health/live, and lets the request through after waiting', async () => {
    const { burstLimit } = endpoints.getLive.throttle;
    const api = apiClient(server.url);
    // Three bursts' worth at once: for none to be refused they would have to arrive spread
    // over (3 - 1) * burstLimit / rateLimit seconds (4 s), which no busy machine stretches to.
    const burst = 3 * burstLimit;

    const responses = await Promise.all(
      Array.from({ length: burst }, () => api.request('GET', '/health/live')),
    );

    const ok = responses.filter((response) => response.status === 200);
    const throttled = responses.filter((response) => response.status === 429);
    expect(ok.length + throttled.length).toBe(burst);
    // The bucket starts full and refills at rateLimit per second while the burst is sent.
    expect(ok.length).toBeGreaterThanOrEqual(burstLimit);
    expect(throttled.length).toBeGreaterThan(0);
    const waits = throttled.map(expectThrottled);
    // Buckets are per method, as in API Gateway: another method is not throttled by this burst.
    expect((await api.request('GET', '/openapi.json')).status).toBe(200);

    await sleep(Math.max(...waits) * 1000);
    const retried = await api.request('GET', '/health/live');
    expect(retried.status).toBe(200);
    expect(retried.json).toEqual({ status: 'ok' });
  });
});

describe('throttling with a small test limit', () => {
  const throttle = { rateLimit: 2, burstLimit: 3 };
  const live: EndpointDefinition = { ...endpoints.getLive, throttle };
  // The buckets read this clock, so refills happen when the test says, not when a busy
  // machine gets round to sending the requests.
  let nowMs = 0;
  let server: LocalServer;

  beforeAll(async () => {
    server = await startTestApi({ endpoints: [live, endpoints.getOpenApi], clock: () => nowMs });
  });

  afterAll(async () => {
    await server.close();
  });

  it('grants exactly the burst at once, refuses the rest, and recovers at the steady rate', async () => {
    const api = apiClient(server.url);
    const responses = await Promise.all(Array.from({ length: 8 }, () => api.request('GET', '/health/live')));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
    const waits = responses.filter((response) => response.status === 429).map(expectThrottled);
    expect(waits.every((wait) => wait === 1)).toBe(true);

    nowMs += 1000;
    // One second at 2 per second: two more requests, not a new burst.
    const after = await Promise.all(Array.from({ length: 3 }, () => api.request('GET', '/health/live')));
    expect(after.map((response) => response.status).sort()).toEqual([200, 200, 429]);
  });

  it('carries the request id and no internals on a 429', async () => {
    const api = apiClient(server.url);
    // The burst is 3: a 429 comes within a handful of requests, or throttling is broken.
    let response: ApiResponse | undefined;
    for (let attempt = 0; attempt < 20 && response?.status !== 429; attempt += 1) {
      response = await api.request('GET', '/health/live');
    }
    if (response?.status !== 429) throw new Error('no request was throttled');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(response.text).not.toMatch(/at \/|node_modules|stack/);
  });
});

describe('throttling at the stage as well as per method', () => {
  let server: LocalServer;

  beforeAll(async () => {
    server = await startTestApi({
      endpoints: [endpoints.getLive, endpoints.getReady, endpoints.getOpenApi],
      stageThrottle: { rateLimit: 1, burstLimit: 2 },
      // A stopped clock: no token comes back during the test.
      clock: () => 0,
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('refuses, with 429 and Retry-After, a request to a method with tokens left once the stage has none', async () => {
    const api = apiClient(server.url);
    expect((await api.request('GET', '/health/live')).status).toBe(200);
    expect((await api.request('GET', '/openapi.json')).status).toBe(200);
    // Each method's own bucket is nearly full; the stage's is empty.
    expectThrottled(await api.request('GET', '/health/ready'));
    expectThrottled(await api.request('GET', '/health/live'));
  });
});
