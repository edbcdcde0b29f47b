/**
 * Events as a user of `npm start` sees them (API.md, Events and Local stack): the real start
 * script in its own process with its own emulator; route changes over HTTP; the events read
 * from the tap queue `traffic-manager-events-tap`, which a rule feeds with every event.
 */
import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { routeEventId, type RouteEvent } from '#shared/events/route-event.schema';
import { receiveRouteEvents } from '#test/integration/events/queue-events';
import { bearer } from '#test/support/auth-tokens';
import { apiClient, type ApiClient } from '#test/support/http-client';
import { spawnStartedStack, type StartedStack, type StartOutputs } from '#test/support/local-stack';
import { emulatorClientConfig } from '#local/emulator';

const run = randomUUID().slice(0, 8);
const tenant = `ev-${run}`;
const routePath = `/v1/tenants/${tenant}/routes/checkout/prod`;
const routeBody = {
  versions: {
    blue: { url: `https://blue.${run}.example`, weight: 100, state: 'active' },
    green: { url: `https://green.${run}.example`, weight: 0, state: 'active' },
  },
  defaultVersion: 'blue',
  rules: [],
};

let stack: StartedStack;
let outputs: StartOutputs;
let sqs: SQSClient;
let api: ApiClient;
let writer: string;

/** Receives from the tap queue until `count` events arrived or time is up. */
const receiveEvents = (count: number, timeoutMs: number): Promise<RouteEvent[]> =>
  receiveRouteEvents(sqs, outputs.TapQueueUrl, count, timeoutMs);

beforeAll(async () => {
  stack = await spawnStartedStack();
  outputs = stack.outputs;
  sqs = new SQSClient(emulatorClientConfig(outputs.AwsEndpoint, outputs.Region));
  api = apiClient(outputs.ApiUrl);
  writer = await bearer({ tenant, scope: 'routes:write' });
}, 90_000);

afterAll(async () => {
  sqs.destroy();
  await stack.stop();
});

describe('route events with npm start', () => {
  it('publishes Route Created, Updated and Deleted to the tap queue in revision order, and nothing for a no-op', async () => {
    const created = await api.request('PUT', routePath, { authorization: writer, body: routeBody });
    expect(created.status).toBe(201);
    // The same route again, with an idempotency key: a no-op that still writes to the table.
    const noop = await api.request('PUT', routePath, {
      authorization: writer,
      body: routeBody,
      headers: { 'Idempotency-Key': `noop-${run}` },
    });
    expect(noop.status).toBe(200);
    const patched = await api.request('PATCH', `${routePath}/versions/green`, {
      authorization: writer,
      body: { weight: 25 },
      headers: { 'X-Request-Id': `patch-${run}` },
    });
    expect(patched.status).toBe(200);
    const deleted = await api.request('DELETE', routePath, { authorization: writer });
    expect(deleted.status).toBe(204);

    const events = await receiveEvents(3, 20_000);
    expect(events.map((event) => [event['detail-type'], event.detail.revision])).toEqual([
      ['Route Created', 1],
      ['Route Updated', 2],
      ['Route Deleted', 3],
    ]);
    const [first, second, third] = events;
    expect(first).toMatchObject({
      source: 'traffic-manager',
      detail: {
        eventId: routeEventId({ tenant, service: 'checkout', env: 'prod', revision: 1 }),
        tenant,
        service: 'checkout',
        env: 'prod',
        actor: expect.any(String),
        requestId: expect.any(String),
        previous: null,
        route: { revision: 1, versions: routeBody.versions },
      },
    });
    expect(second?.detail.previous).toEqual(first?.detail.route);
    expect(second?.detail.route?.versions.green?.weight).toBe(25);
    expect(third?.detail).toMatchObject({ route: null, previous: second?.detail.route });
    expect(new Set(events.map((event) => event.detail.requestId)).size).toBe(3);
    // The tenant's sequence, one per committed change; the caller's id as correlationId,
    // never as the server-issued requestId.
    expect(events.map((event) => event.detail.seq)).toEqual([1, 2, 3]);
    expect(second?.detail.correlationId).toBe(`patch-${run}`);
    expect(second?.detail.requestId).not.toBe(`patch-${run}`);
    expect(first?.detail.correlationId).toBeNull();

    // Nothing more: the no-op committed nothing, so it published nothing.
    expect(await receiveEvents(1, 3_000)).toEqual([]);
  }, 60_000);
});
