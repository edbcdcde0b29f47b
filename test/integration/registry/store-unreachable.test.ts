/**
 * The store is gone (API.md: "An unavailable dependency (refused connection, throttling,
 * timeout before sending) is 503 with Retry-After, never 500"). This file's functions are
 * pointed at a loopback port where nothing listens, so every call of the real SDK meets a
 * refused connection, as when the emulator (or a VPC endpoint) is down.
 */
import { createServer } from 'node:net';
import type { Registry, Response } from './registry-client.ts';

/** A loopback port that was free a moment ago and has nothing listening now. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let api: Registry;
let expectProblem: (response: Response<unknown>, status: number) => { type: string };
let health: { live: () => Promise<{ statusCode: number; body: string }>; ready: () => Promise<{ statusCode: number; body: string }> };

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${await deadPort()}`;
  // Imported after the environment is set: clients are created once, at import.
  const client = await import('./registry-client.ts');
  const { apiGatewayEvent, lambdaContext } = await import('#test/support/api-gateway-event');
  const { handler: getLive } = await import('#functions/health/get-live');
  const { handler: getReady } = await import('#functions/health/get-ready');
  api = client.registry(client.uniqueTenant());
  expectProblem = client.expectProblem;
  health = {
    live: () => getLive(apiGatewayEvent({ method: 'GET', path: '/health/live' }), lambdaContext()),
    ready: () => getReady(apiGatewayEvent({ method: 'GET', path: '/health/ready' }), lambdaContext()),
  };
});

describe('with the store unreachable', () => {
  const calls: [string, () => Promise<Response<unknown>>][] = [
    ['a read', () => api.getRoute()],
    ['a listing', () => api.listRoutes()],
    ['a history', () => api.listRevisions()],
    ['the audit trail', () => api.audit()],
    ['the snapshot', () => api.snapshot()],
    ['a route PUT', () => api.putRoute({ versions: {} })],
    ['a PATCH', () => api.patchVersion('v1', { weight: 1 })],
    ['a route DELETE', () => api.deleteRoute()],
    ['a rollback', () => api.rollback({ revision: 1 })],
  ];

  it.each(calls)('answers %s with 503 and Retry-After, never 500', async (_name, call) => {
    const response = await call();
    const problem = expectProblem(response, 503);
    expect(problem.type).toMatch(/\/unavailable$/);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('reports live 200 and ready 503 naming DynamoDB', async () => {
    expect((await health.live()).statusCode).toBe(200);
    const ready = await health.ready();
    expect(ready.statusCode).toBe(503);
    expect(ready.body).toMatch(/dynamodb/i);
  });
});
