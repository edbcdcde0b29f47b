/**
 * A route can grow, one request at a time, past what one EventBridge event can carry (the
 * route before and after a change). Such a change is refused before it commits, so no
 * revision exists whose event could never be published.
 */
import { MAX_RULES, type Route } from '#shared/domain/route.schema';
import { eventFits } from '#shared/events/event-size';
import { putRoute } from '#shared/domain/route-changes';
import { commitChange } from '#shared/store/commit-change';
import { expectProblem, registry, revisionNumbers, uniqueTenant } from './registry-client.ts';

const longUrl = (name: string): string => `https://${name}.example.com/${'p'.repeat(2_000)}`;

/**
 * A route of about 150 KB, as many version PUTs and PATCHes would build it; stored directly
 * so the test does not have to send the thirty-odd requests that grow it.
 */
function grownRoute(tenant: string): Route {
  const now = new Date().toISOString();
  return {
    tenant,
    service: 'checkout',
    env: 'prod',
    versions: Object.fromEntries(
      Array.from({ length: 45 }, (_, i) => [`v${i}`, { url: longUrl(`v${i}`), weight: 1, state: 'active' as const }]),
    ),
    defaultVersion: 'v0',
    rules: Array.from({ length: MAX_RULES }, (_, i) => ({ header: `x-rule-${i}`, equals: 'v'.repeat(1_000), version: 'v0' })),
    revision: 1,
    createdAt: now,
    updatedAt: now,
    updatedBy: 'seed',
  };
}

describe('route size against the event limit', () => {
  it('refuses with 413, writing nothing, the change whose event would not fit in 256 KB', async () => {
    const tenant = uniqueTenant();
    const api = registry(tenant);
    const seeded = grownRoute(tenant);
    // The seed alone fits an event (created: nothing before it)...
    expect(eventFits(seeded, null)).toBe(true);
    await commitChange(
      {
        key: { tenant, service: 'checkout', env: 'prod' },
        actor: 'seed',
        requestId: 'seed',
        preconditions: {},
        deadline: Date.now() + 30_000,
      },
      putRoute({ versions: seeded.versions, rules: seeded.rules, ...(seeded.defaultVersion === undefined ? {} : { defaultVersion: seeded.defaultVersion }) }),
    );

    // ...but a change of it carries the route twice (before and after): too much.
    const refused = await api.putVersion('v45', { url: longUrl('v45'), weight: 1 });
    expect(expectProblem(refused, 413).detail).toContain('256 KB');
    expect((await api.getRoute()).body).toMatchObject({ versions: seeded.versions, rules: seeded.rules, revision: 1 });
    expect(await revisionNumbers(api)).toEqual([1]);

    // A change that shrinks the route is still possible.
    const shrunk = await api.putRoute({
      versions: { v0: { url: 'https://v0.example.com', weight: 1, state: 'active' } },
      defaultVersion: 'v0',
    });
    expect(shrunk.status).toBe(200);
    expect(shrunk.body.revision).toBe(2);
  });
});
