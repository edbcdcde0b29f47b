/**
 * The last resort of the handler factory: a handler still running just before Lambda's
 * timeout gets an answer from Middy's early timeout, and that answer is honest: 503
 * `outcome-unknown` for a write (it may have committed), 503 `unavailable` for anything
 * else, never a 500.
 */
import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import { bearer } from '#test/support/auth-tokens';

/** A handler body that never finishes: only the early timeout can answer. */
const never = (): Promise<never> => new Promise<never>(() => undefined);

async function invokeNearTimeout(endpoint: typeof endpoints.patchVersion | typeof endpoints.getRoute, method: string) {
  const handler = httpHandler({ endpoint, run: never });
  const tenant = 'acme';
  const deadline = Date.now() + 700;
  return handler(
    apiGatewayEvent({
      method,
      path: `/v1/tenants/${tenant}/routes/checkout/prod${method === 'PATCH' ? '/versions/v1' : ''}`,
      pathParameters: { tenant, service: 'checkout', env: 'prod', ...(method === 'PATCH' ? { version: 'v1' } : {}) },
      headers: { Authorization: await bearer({ tenant, scope: 'routes:read routes:write' }) },
      ...(method === 'PATCH' ? { body: { weight: 5 } } : {}),
    }),
    lambdaContext({ getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) }),
  );
}

describe('a handler that runs out of time', () => {
  it('answers a write 503 outcome-unknown with Retry-After', async () => {
    const response = await invokeNearTimeout(endpoints.patchVersion, 'PATCH');
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({ type: expect.stringMatching(/\/outcome-unknown$/) });
    expect(response.headers?.['Retry-After']).toBe('1');
  });

  it('answers a read 503 unavailable with Retry-After', async () => {
    const response = await invokeNearTimeout(endpoints.getRoute, 'GET');
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({ type: expect.stringMatching(/\/unavailable$/) });
    expect(response.headers?.['Retry-After']).toBe('1');
  });
});
