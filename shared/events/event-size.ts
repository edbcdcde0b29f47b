/**
 * How large a route event may be: the write path refuses a change whose event could never be
 * published (shared/store/commit-change.ts) and the publisher sizes its PutEvents calls by
 * the same limit. Apart from the event schema, so that the write path does not bundle it.
 */

/** The largest entry `PutEvents` accepts. */
export const MAX_EVENT_ENTRY_BYTES = 256 * 1024;

/**
 * Room for everything in an event entry besides `route` and `previous`: ids, names, the
 * actor, the request id, times, source and detail-type (each bounded well below this).
 */
const EVENT_ENVELOPE_ALLOWANCE_BYTES = 4 * 1024;

/**
 * Whether the event of a change from `previous` to `route` fits in one `PutEvents` entry.
 * The write path checks it before committing: a revision whose event could never be
 * published would block its route's events for good.
 */
export function eventFits(route: unknown, previous: unknown): boolean {
  const bytes = Buffer.byteLength(JSON.stringify(route ?? null)) + Buffer.byteLength(JSON.stringify(previous ?? null));
  return bytes + EVENT_ENVELOPE_ALLOWANCE_BYTES <= MAX_EVENT_ENTRY_BYTES;
}
