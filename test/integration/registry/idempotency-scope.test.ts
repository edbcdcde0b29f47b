/**
 * Idempotency keys are scoped to the tenant, the caller (`sub`), the method and the
 * normalised path (API.md, "Idempotency keys"): another caller reusing a key, or the same
 * route named with another encoding of its path, never gets someone else's stored answer
 * and never runs a change twice. Events as API Gateway sends them, to the real handlers.
 */
import { randomUUID } from 'node:crypto';
import { handler as patchVersion } from '#functions/versions/patch-version';
import { handler as putRoute } from '#functions/routes/put-route';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import { bearer } from '#test/support/auth-tokens';
import { ALL_SCOPES, registry, revisionNumbers, twoVersionBody, uniqueTenant } from './registry-client.ts';

interface Call {
  tenant: string;
  sub: string;
  key: string;
  /** The path as the caller wrote it (API Gateway decodes the parameters). */
  path: string;
  body: unknown;
}

async function patchV2(call: Call) {
  const event = apiGatewayEvent({
    method: 'PATCH',
    path: call.path,
    resource: '/v1/tenants/{tenant}/routes/{service}/{env}/versions/{version}',
    pathParameters: { tenant: call.tenant, service: 'checkout', env: 'prod', version: 'v2' },
    headers: {
      Authorization: await bearer({ tenant: call.tenant, scope: ALL_SCOPES, sub: call.sub }),
      'Idempotency-Key': call.key,
    },
    body: call.body,
  });
  const response = await patchVersion(event, lambdaContext());
  return { ...response, replayed: response.headers?.['Idempotent-Replayed'] === 'true' };
}

describe('idempotency keys are scoped', () => {
  it('runs another caller reusing a key as its own request, not as a replay of the first', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    const key = randomUUID();
    const path = `/v1/tenants/${tenant}/routes/checkout/prod/versions/v2`;

    const alice = await patchV2({ tenant, sub: 'alice', key, path, body: { weight: 25 } });
    expect(alice.statusCode).toBe(200);
    // Someone moves the weight on, then bob reuses alice's key with the same body.
    await api.patchVersion('v2', { weight: 30 });
    const bob = await patchV2({ tenant, sub: 'bob', key, path, body: { weight: 25 } });

    expect(bob.replayed).toBe(false);
    expect(bob.statusCode).toBe(200);
    expect(JSON.parse(bob.body)).toMatchObject({ revision: 4, updatedBy: 'bob', versions: { v2: { weight: 25 } } });
    expect(await revisionNumbers(api)).toEqual([4, 3, 2, 1]);
  });

  it('replays a retry whose path is encoded differently, never running the change again', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    await api.putRoute(twoVersionBody());
    const key = randomUUID();

    const first = await patchV2({ tenant, sub: 'alice', key, path: `/v1/tenants/${tenant}/routes/checkout/prod/versions/v2`, body: { weight: 25 } });
    expect(first.statusCode).toBe(200);
    await api.patchVersion('v2', { weight: 30 });
    // The same route, with `checkout` percent-encoded: one normalised path.
    const retry = await patchV2({ tenant, sub: 'alice', key, path: `/v1/tenants/${tenant}/routes/%63heckout/prod/versions/v2`, body: { weight: 25 } });

    expect(retry.replayed).toBe(true);
    expect(retry.body).toBe(first.body);
    // The change made in between stands: the retry did not overwrite it.
    expect((await api.getRoute()).body).toMatchObject({ revision: 3, versions: { v2: { weight: 30 } } });
  });

  it('treats the same key on another route as another key', async () => {
    const tenant = uniqueTenant();
    const key = randomUUID();
    const put = async (service: string) =>
      putRoute(
        apiGatewayEvent({
          method: 'PUT',
          path: `/v1/tenants/${tenant}/routes/${service}/prod`,
          pathParameters: { tenant, service, env: 'prod' },
          headers: { Authorization: await bearer({ tenant, scope: ALL_SCOPES, sub: 'alice' }), 'Idempotency-Key': key },
          body: twoVersionBody(),
        }),
        lambdaContext(),
      );
    const checkout = await put('checkout');
    const billing = await put('billing');
    expect([checkout.statusCode, billing.statusCode]).toEqual([201, 201]);
    expect(billing.headers?.['Idempotent-Replayed']).toBeUndefined();
    expect(await revisionNumbers(registry(tenant), 'billing', 'prod')).toEqual([1]);
  });
});
