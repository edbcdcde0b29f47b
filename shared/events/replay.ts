/**
 * Publishes a range of a tenant's history again (API.md, "Change feed and snapshot"): the
 * revisions with sequence numbers `from`..`to`, read from the immutable revision items,
 * become the same events the publisher sent the first time (same `eventId`s, so consumers
 * that dedupe by it see nothing new), in sequence order and so in revision order per route.
 * The stack's replay function and `npm run events -- replay` both run this.
 */
import { listRevisionsBySeq, readSequence } from '../store/route.store.ts';
import { routePk } from '../store/route-keys.ts';
import { publishEvents, routeEventOf, type PendingEvent, type PublishOptions } from './publisher.ts';

interface ReplayRange {
  tenant: string;
  /** The first sequence number to publish (1 or more). */
  from: number;
  /** The last one; the tenant's latest when absent. */
  to?: number | undefined;
}

export interface ReplayReport {
  /** Events accepted by the bus. */
  published: number;
  /** Events that could not be published, by sequence number, with the reason. */
  failed: { seq: number; reason: string }[];
  /** The last sequence number looked at: `to`, or the latest when `to` was absent. */
  through: number;
}

/** Revisions read (and published) per page. */
const PAGE = 100;

export async function replayChanges(range: ReplayRange, options: PublishOptions = {}): Promise<ReplayReport> {
  const through = range.to ?? (await readSequence(range.tenant, { consistent: true }));
  const report: ReplayReport = { published: 0, failed: [], through };
  let after = range.from - 1;
  while (after < through) {
    const revisions = await listRevisionsBySeq(range.tenant, { after, limit: Math.min(PAGE, through - after) });
    // The index lags a commit for a moment: what is not there yet is reported, not skipped.
    if (revisions.length === 0) {
      for (let seq = after + 1; seq <= through; seq += 1) report.failed.push({ seq, reason: 'not found in the index yet' });
      break;
    }
    const pending: (PendingEvent & { seq: number })[] = revisions.map((stored) => ({
      routeKey: routePk(stored.revision),
      sequenceNumber: String(stored.revision.seq),
      seq: stored.revision.seq,
      event: routeEventOf(stored),
    }));
    const published = await publishEvents(pending, options);
    report.published += published.published.length;
    for (const { item, reason } of published.failed) report.failed.push({ seq: item.seq, reason });
    after = revisions.at(-1)?.revision.seq ?? through;
    if (published.failed.length > 0) {
      // Later pages could overtake a failed revision of the same route: stop here, so a
      // replay from the first failure keeps every route's events in order.
      for (let seq = after + 1; seq <= through; seq += 1) report.failed.push({ seq, reason: 'not sent: an earlier event failed' });
      break;
    }
  }
  report.failed.sort((a, b) => a.seq - b.seq);
  return report;
}
