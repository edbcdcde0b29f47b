/**
 * The route use cases that are more than one call: reads that answer 404 for what does not
 * exist, rollback (which reads the revision it restores), the change feed and the snapshot.
 * Every write goes through the one write path, shared/store/commit-change.ts; handlers call
 * it directly with a change from shared/domain/route-changes.ts.
 */
import { rollback } from '../domain/route-changes.ts';
import { snapshotEtag } from '../domain/route-limits.ts';
import type { ChangePage, Revision, Route } from '../domain/route.schema.ts';
import { NotFoundError, RouteNotFoundError } from '../errors/http-errors.ts';
import { commitChange, type CommitResult, type WriteContext } from '../store/commit-change.ts';
import {
  getRevision,
  getRoute,
  listAudit,
  listChanges,
  listRevisions,
  listRoutes,
  readSequence,
  snapshot,
  type Page,
  type PageOptions,
  type RouteKey,
  type Snapshot,
} from '../store/route.store.ts';

/** Commits a new revision whose content equals revision `target` (404 if it never was). */
export async function rollbackRoute(context: WriteContext, target: number): Promise<CommitResult> {
  const past = await getRevision(context.key, target);
  if (past === undefined) throw new NotFoundError(`No revision ${target} of this route.`);
  return commitChange(context, rollback({ revision: past.revision, route: past.route }));
}

/** Reads one live route, strongly consistent so that a caller reads its own writes. */
export async function readRoute(key: RouteKey): Promise<Route> {
  const route = await getRoute(key, { consistent: true });
  if (route === undefined) throw new RouteNotFoundError();
  return route;
}

export async function readRoutes(tenant: string, options: PageOptions & { service?: string }): Promise<Page<Route>> {
  return listRoutes(tenant, options);
}

/** A route's history, newest first; 404 if the route never had one. */
export async function readRevisions(key: RouteKey, options: PageOptions): Promise<Page<Revision>> {
  const page = await listRevisions(key, options);
  if (page.items.length === 0 && options.cursor === undefined) throw new RouteNotFoundError();
  return page;
}

export async function readRevision(key: RouteKey, revision: number): Promise<Revision> {
  const found = await getRevision(key, revision);
  if (found === undefined) throw new NotFoundError(`No revision ${revision} of this route.`);
  return found;
}

export async function readAudit(tenant: string, options: PageOptions): Promise<Page<Revision>> {
  return listAudit(tenant, options);
}

export async function readChanges(tenant: string, options: { after: number; limit: number }): Promise<ChangePage> {
  return listChanges(tenant, options);
}

/** The entity tag of a tenant's snapshot at sequence `seq`. */

/** The last snapshot built per tenant in this execution environment, by sequence. */
const snapshots = new Map<string, Snapshot>();
/** Tenants whose snapshot is kept: a bound on memory, oldest dropped first. */
const MAX_CACHED_SNAPSHOTS = 100;

/**
 * The snapshot answer for a caller that holds `known` (its `If-None-Match`): one read of the
 * tenant's sequence decides. When the caller is current, `notModified`; when this execution
 * environment already built the snapshot at that sequence, it is served from memory;
 * otherwise the tenant partition is read.
 */
export async function readSnapshot(
  tenant: string,
  isCurrent: (etag: string) => boolean,
): Promise<{ notModified: true; etag: string } | { notModified: false; etag: string; snapshot: Snapshot }> {
  const seq = await readSequence(tenant, { consistent: true });
  const etag = snapshotEtag(seq);
  if (isCurrent(etag)) return { notModified: true, etag };
  const cached = snapshots.get(tenant);
  if (cached !== undefined && cached.seq === seq) return { notModified: false, etag, snapshot: cached };
  const fresh = await snapshot(tenant, seq);
  snapshots.delete(tenant);
  snapshots.set(tenant, fresh);
  if (snapshots.size > MAX_CACHED_SNAPSHOTS) snapshots.delete(snapshots.keys().next().value ?? tenant);
  return { notModified: false, etag, snapshot: fresh };
}
