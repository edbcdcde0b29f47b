/**
 * A route can grow, one request at a time, past what one EventBridge event can carry (the
 * route before and after a change). Such a change is refused before it commits, so no
 * revision exists whose event could never be published.
 */
import { MAX_EVENT_ENTRY_BYTES } from '#shared/events/route-event.schema';
import { expectProblem, registry, revisionNumbers, uniqueTenant } from './registry-client.ts';

const longUrl = (name: string): string => `https://${name}.example.com/${'p'.repeat(2_000)}`;

describe('route size against the event limit', () => {
  it('refuses with 413, writing nothing, the change whose event would not fit in 256 KB', async () => {
    const api = registry(uniqueTenant());
    // Rules near their limits: a body under 64 KiB, a route of about 60 KB.
    const rules = Array.from({ length: 50 }, (_, i) => ({ header: `x-rule-${i}`, equals: 'v'.repeat(1_000), version: 'v0' }));
    const created = await api.putRoute({ versions: { v0: { url: longUrl('v0'), weight: 1, state: 'active' } }, rules });
    expect(created.status).toBe(201);

    let refused: Awaited<ReturnType<typeof api.putVersion>> | undefined;
    let accepted = 0;
    for (let i = 1; i < 50 && refused === undefined; i += 1) {
      const response = await api.putVersion(`v${i}`, { url: longUrl(`v${i}`), weight: 1 });
      if (response.status === 413) refused = response;
      else {
        expect(response.status).toBe(201);
        accepted += 1;
      }
    }
    if (refused === undefined) throw new Error('the route never outgrew an event');
    expect(expectProblem(refused, 413).detail).toContain('256 KB');

    // The last accepted change still fits; the refused one left nothing behind.
    const current = await api.getRoute();
    expect(Object.keys(current.body.versions)).toHaveLength(accepted + 1);
    expect(current.body.revision).toBe(accepted + 1);
    expect((await revisionNumbers(api))[0]).toBe(accepted + 1);
    const pair = Buffer.byteLength(JSON.stringify(current.body)) * 2;
    expect(pair).toBeLessThan(MAX_EVENT_ENTRY_BYTES);
  }, 120_000);
});
