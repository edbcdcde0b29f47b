/**
 * Idempotency-Key on the registry's real write handlers: a repeat with the same key and
 * body gets the first response (status, body, ETag) with `Idempotent-Replayed`, and
 * commits nothing new, even when the route changed in between.
 */
import { randomUUID } from 'node:crypto';
import {
  expectProblem,
  registry,
  revisionNumbers,
  twoVersionBody,
  uniqueTenant,
  version,
  type Registry,
  type Response,
} from './registry-client.ts';

type Write = (api: Registry, headers: Record<string, string>) => Promise<Response<unknown>>;

const writes: [string, number, Write][] = [
  ['a route PUT', 200, (api, headers) => api.putRoute({ versions: { v1: version('v1', 50) }, defaultVersion: 'v1' }, { headers })],
  ['a version PUT', 201, (api, headers) => api.putVersion('v4', version('v4'), { headers })],
  ['a PATCH', 200, (api, headers) => api.patchVersion('v2', { weight: 25 }, { headers })],
  ['a version DELETE', 200, (api, headers) => api.deleteVersion('v3', { headers })],
  ['a rollback', 200, (api, headers) => api.rollback({ revision: 1 }, { headers })],
  ['a route DELETE', 204, (api, headers) => api.deleteRoute({ headers })],
];

/** checkout/prod at revision 2: the two-version route, then v3 added with weight 0. */
async function arrange(): Promise<Registry> {
  const api = registry(uniqueTenant());
  await api.putRoute(twoVersionBody());
  await api.putVersion('v3', version('v3', 0));
  await api.patchVersion('v1', { weight: 80 });
  return api;
}

describe('idempotent repeats', () => {
  it.each(writes)('replays %s with the same key and body, committing nothing new', async (_name, status, write) => {
    const api = await arrange();
    const key = randomUUID();
    const first = await write(api, { 'Idempotency-Key': key });
    expect(first.status).toBe(status);
    const history = await revisionNumbers(api);

    const repeat = await write(api, { 'Idempotency-Key': key, 'X-Request-Id': 'the-repeat' });

    expect(repeat.status).toBe(first.status);
    expect(repeat.raw.body).toBe(first.raw.body);
    expect(repeat.headers.etag).toBe(first.headers.etag);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(repeat.headers['x-request-id']).toBe('the-repeat');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await revisionNumbers(api)).toEqual(history);
  });

  it('replays the first response after the route moved on, without undoing the later change', async () => {
    const api = await arrange();
    const key = randomUUID();
    const first = await api.patchVersion('v2', { weight: 25 }, { headers: { 'Idempotency-Key': key } });
    const later = await api.patchVersion('v2', { weight: 40 });
    expect(later.headers.etag).toBe('"5"');

    const repeat = await api.patchVersion('v2', { weight: 25 }, { headers: { 'Idempotency-Key': key } });

    expect(repeat.status).toBe(200);
    expect(repeat.raw.body).toBe(first.raw.body);
    expect(repeat.headers.etag).toBe('"4"');
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    const read = await api.getRoute();
    expect(read.body.versions.v2?.weight).toBe(40);
    expect(await revisionNumbers(api)).toEqual([5, 4, 3, 2, 1]);
  });

  it('does not remember a refusal: the same key runs again once the conflict is resolved', async () => {
    const api = await arrange();
    const key = randomUUID();

    const refused = await api.deleteVersion('v1', { headers: { 'Idempotency-Key': key } });
    const current = (await api.getRoute()).body;
    await api.putRoute({ versions: current.versions, defaultVersion: 'v2', rules: [] });
    const retried = await api.deleteVersion('v1', { headers: { 'Idempotency-Key': key } });

    expectProblem(refused, 409);
    expect(retried.status).toBe(200);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(Object.keys(retried.body.versions).sort()).toEqual(['v2', 'v3']);
  });

  it('refuses the same key with another body with 422 and still replays the first', async () => {
    const api = await arrange();
    const key = randomUUID();
    const first = await api.putVersion('v4', version('v4'), { headers: { 'Idempotency-Key': key } });

    const other = await api.putVersion('v4', version('v4', 7), { headers: { 'Idempotency-Key': key } });
    const repeat = await api.putVersion('v4', version('v4'), { headers: { 'Idempotency-Key': key } });

    expectProblem(other, 422);
    expect(repeat.status).toBe(201);
    expect(repeat.raw.body).toBe(first.raw.body);
    expect((await api.getRoute()).body.versions.v4).toEqual(version('v4'));
    expect(await revisionNumbers(api)).toEqual([4, 3, 2, 1]);
  });

  it('does not share a key between routes of a tenant', async () => {
    const api = await arrange();
    const key = randomUUID();

    const checkout = await api.putVersion('v9', version('v9'), { headers: { 'Idempotency-Key': key } });
    const cart = await api.putVersion('v9', version('v9'), { headers: { 'Idempotency-Key': key } }, 'cart', 'prod');

    expect(checkout.status).toBe(201);
    expect(cart.status).toBe(201);
    expect(cart.headers['idempotent-replayed']).toBeUndefined();
    expect(cart.body.service).toBe('cart');
  });
});
