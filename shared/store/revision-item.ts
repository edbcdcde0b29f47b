/**
 * Revision items as stored, without the store's client: the event publisher reads them
 * from stream records and must not need (or be granted) the table itself.
 */
import * as z from '../zod.ts';
import { RevisionSchema, RouteSchema, type Revision, type Route } from '../domain/route.schema.ts';
import { attr, REVISION_SK_PREFIX } from './route-keys.ts';

/** A revision item as stored: the public revision and the route before the change. */
const RevisionItemSchema = z.object({
  ...RevisionSchema.shape,
  previous: z.nullable(RouteSchema),
});

/** What a revision item holds beyond the public `Revision`: the route before the change. */
export interface StoredRevision {
  revision: Revision;
  previous: Route | null;
}

/** Parses a stored revision item (from a read, or a stream record's new image). */
export function parseRevisionItem(item: Record<string, unknown>): StoredRevision {
  const { previous, ...revision } = RevisionItemSchema.parse(item);
  return { revision, previous };
}

/** Whether an item (a stream record's new image, say) is a revision item. */
export function isRevisionItem(item: Record<string, unknown>): boolean {
  const sk = item[attr.sk];
  return typeof sk === 'string' && sk.startsWith(REVISION_SK_PREFIX);
}
