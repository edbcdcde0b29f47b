import '#test/unit/events/unit-env';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '#local/paths';
import {
  RouteEventDetailSchema,
  RouteEventSchema,
  detailTypeOf,
  eventSource,
  routeEventId,
  routeEventJsonSchema,
} from '#shared/events/route-event.schema';
import { eventFits, MAX_EVENT_ENTRY_BYTES } from '#shared/events/event-size';
import { changeTo, key, routeAt } from '#test/unit/events/stream-fixtures';

function detailAt(revision: number, options: { deleted?: boolean } = {}) {
  const change = changeTo(revision, options);
  return {
    eventId: routeEventId({ ...key, revision }),
    ...key,
    revision,
    seq: change.seq,
    actor: change.actor,
    requestId: change.requestId,
    correlationId: null,
    occurredAt: change.occurredAt,
    route: change.next,
    previous: change.previous,
  };
}

describe('routeEventId', () => {
  it('is the same for the same revision every time, so redelivery is recognisable', () => {
    const first = routeEventId({ ...key, revision: 7 });
    expect(routeEventId({ tenant: 'acme', service: 'checkout', env: 'prod', revision: 7 })).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  // Ids computed by the hand-written v5 this project shipped first: consumers dedupe by them
  // and replays must reproduce them, so no library swap or release may change one.
  it.each([
    [{ tenant: 'acme', service: 'checkout', env: 'prod', revision: 7 }, 'bf3d70a4-1112-5c46-ba6a-6c644fd155a1'],
    [{ tenant: 'acme', service: 'checkout', env: 'prod', revision: 1 }, 'f0a81ba5-e45c-55c1-8e08-b1a93cdb90c3'],
    [{ tenant: 'globex', service: 'cart', env: 'dev', revision: 1234567 }, '16539a28-e85d-5d78-8dbb-4442c3af635d'],
    [{ tenant: 'a', service: 'b', env: 'c', revision: 9007199254740991 }, '5e4f2623-6981-5f95-b70e-e24655c12c68'],
  ])('never changes across releases: %j is %s', (revisionKey, id) => {
    expect(routeEventId(revisionKey)).toBe(id);
  });

  it('differs for another revision, env, service or tenant', () => {
    const ids = new Set([
      routeEventId({ ...key, revision: 7 }),
      routeEventId({ ...key, revision: 8 }),
      routeEventId({ ...key, env: 'dev', revision: 7 }),
      routeEventId({ ...key, service: 'cart', revision: 7 }),
      routeEventId({ ...key, tenant: 'globex', revision: 7 }),
      // Would collide if the parts were joined without a separator.
      routeEventId({ tenant: 'acme', service: 'check', env: 'outprod', revision: 7 }),
    ]);
    expect(ids.size).toBe(6);
  });
});

describe('detailTypeOf', () => {
  it('names a creation, an update and a deletion', () => {
    expect(detailTypeOf(detailAt(1))).toBe('Route Created');
    expect(detailTypeOf(detailAt(2))).toBe('Route Updated');
    expect(detailTypeOf(detailAt(3, { deleted: true }))).toBe('Route Deleted');
  });
});

describe('RouteEventDetailSchema', () => {
  it('accepts the detail of a creation, an update and a deletion', () => {
    for (const detail of [detailAt(1), detailAt(2), detailAt(3, { deleted: true })]) {
      expect(RouteEventDetailSchema.safeParse(detail).success).toBe(true);
    }
  });

  it.each([
    ['an eventId not derived from the revision', { eventId: routeEventId({ ...key, revision: 99 }) }],
    ['a route at another revision', { route: routeAt(5) }],
    ['a route of another env', { route: routeAt(2, { env: 'dev' }) }],
    ['a previous route not older than the change', { previous: routeAt(2) }],
    ['neither route nor previous', { route: null, previous: null }],
    ['an unknown field', { kind: 'route.put' }],
    ['a missing actor', { actor: undefined }],
  ])('refuses %s', (_name, override) => {
    expect(RouteEventDetailSchema.safeParse({ ...detailAt(2), ...override }).success).toBe(false);
  });
});

describe('RouteEventSchema', () => {
  const envelope = {
    version: '0',
    id: '9f1c1b44-0000-0000-0000-000000000000',
    source: eventSource,
    account: '000000000000',
    time: '2026-01-01T00:00:02Z',
    region: 'us-east-1',
    resources: [],
  };

  it('accepts an event as EventBridge delivers it', () => {
    expect(RouteEventSchema.safeParse({ ...envelope, 'detail-type': 'Route Updated', detail: detailAt(2) }).success).toBe(true);
  });

  it('refuses a detail-type that contradicts the detail', () => {
    expect(RouteEventSchema.safeParse({ ...envelope, 'detail-type': 'Route Created', detail: detailAt(2) }).success).toBe(false);
    expect(
      RouteEventSchema.safeParse({ ...envelope, 'detail-type': 'Route Updated', detail: detailAt(3, { deleted: true }) }).success,
    ).toBe(false);
  });

  it('is documented: docs/events.schema.json is the schema the code exports', () => {
    const documented: unknown = JSON.parse(readFileSync(path.join(repoRoot, 'docs', 'events.schema.json'), 'utf8'));
    expect(documented).toEqual(routeEventJsonSchema());
  });

  it('has a JSON Schema naming the source and the three detail-types', () => {
    const text = JSON.stringify(routeEventJsonSchema());
    for (const value of ['traffic-manager', 'Route Created', 'Route Updated', 'Route Deleted', 'eventId', 'previous']) {
      expect(text).toContain(value);
    }
  });
});

describe('eventFits', () => {
  it('accepts a change whose route before and after fit in one PutEvents entry, with room for the rest', () => {
    const half = (bytes: number) => ({ blob: 'x'.repeat(bytes) });
    expect(eventFits(half(100_000), half(100_000))).toBe(true);
    expect(eventFits(half(130_000), half(130_000))).toBe(false);
    expect(eventFits(half(MAX_EVENT_ENTRY_BYTES - 5_000), null)).toBe(true);
    expect(eventFits(null, half(MAX_EVENT_ENTRY_BYTES))).toBe(false);
  });
});
