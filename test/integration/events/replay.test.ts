/**
 * Replay (API.md, "Change feed and snapshot"): a range of a tenant's history, committed
 * through the one write path, published again from the immutable revisions through the
 * operator's function, with the original eventIds, in order, read where the events land (a
 * queue fed by a rule for the test's tenant).
 */
import { handler as replay } from '#functions/events/replay-route-events';
import { patchVersion, putVersion } from '#shared/domain/route-changes';
import { routeEventId } from '#shared/events/route-event.schema';
import { commitChange } from '#shared/store/commit-change';
import { lambdaContext } from '#test/support/api-gateway-event';
import { testEventBridge, testSqs, uniqueName } from '#test/support/aws';
import { subscribeTenant, type TenantQueue } from './event-harness.ts';
import { receiveRouteEvents } from './queue-events.ts';

const events = testEventBridge();
const sqs = testSqs();
let tenant: string;
let queue: TenantQueue;

beforeEach(async () => {
  tenant = uniqueName('replay').toLowerCase();
  queue = await subscribeTenant(events, sqs, tenant);
});

afterEach(async () => {
  await queue.remove();
});

afterAll(() => {
  events.destroy();
  sqs.destroy();
});

const write = (service: string, change: Parameters<typeof commitChange>[1]) =>
  commitChange(
    {
      key: { tenant, service, env: 'prod' },
      actor: 'tester',
      requestId: uniqueName('req'),
      correlationId: `caller-${service}`,
      preconditions: {},
      deadline: Date.now() + 30_000,
    },
    change,
  );

/** Five changes over two routes: seq 1..5. */
async function history(): Promise<void> {
  await write('checkout', putVersion('v1', { url: 'https://v1.example.com', weight: 1, state: 'active' }));
  await write('billing', putVersion('v1', { url: 'https://v1.example.com', weight: 1, state: 'active' }));
  await write('checkout', patchVersion('v1', { weight: 2 }));
  await write('checkout', patchVersion('v1', { weight: 3 }));
  await write('billing', patchVersion('v1', { weight: 2 }));
}

describe('replay', () => {
  it('publishes a range of the history again, in order, with the original eventIds', async () => {
    await history();
    const report = await replay({ tenant, from: 2, to: 4 }, lambdaContext());
    expect(report).toEqual({ published: 3, failed: [], through: 4 });

    const delivered = await receiveRouteEvents(sqs, queue.queueUrl, 3, 20_000);
    const bySeq = [...delivered].sort((a, b) => a.detail.seq - b.detail.seq);
    expect(bySeq.map((event) => [event.detail.seq, event.detail.service, event.detail.revision])).toEqual([
      [2, 'billing', 1],
      [3, 'checkout', 2],
      [4, 'checkout', 3],
    ]);
    for (const event of bySeq) {
      expect(event.detail.eventId).toBe(routeEventId(event.detail));
      expect(event.detail.correlationId).toBe(`caller-${event.detail.service}`);
    }
  });

  it('runs to the latest change when no end is given', async () => {
    await history();
    const report = await replay({ tenant, from: 4 }, lambdaContext());
    expect(report).toEqual({ published: 2, failed: [], through: 5 });
  });

  it('refuses a malformed range', async () => {
    await expect(replay({ tenant, from: 3, to: 2 }, lambdaContext())).rejects.toThrow(/to must not be before from/);
    await expect(replay({ tenant: 'Not A Slug', from: 1 }, lambdaContext())).rejects.toThrow();
  });
});
