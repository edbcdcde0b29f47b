/**
 * The route registry's use cases: one function per endpoint, each composing the pure
 * change functions (shared/domain/route-changes.ts) with the store (shared/store/). The
 * handlers in functions/ call exactly one of these and map its result to HTTP.
 */
import {
  deleteRoute as deleteRouteChange,
  deleteVersion as deleteVersionChange,
  patchVersion as patchVersionChange,
  putRoute as putRouteChange,
  putVersion as putVersionChange,
  rollback as rollbackChange,
  type ChangeContext,
} from '../domain/route-changes.ts';
import type {
  ChangeKind,
  PatchVersionBody,
  PutRouteBody,
  PutVersionBody,
  Revision,
  Route,
} from '../domain/route.schema.ts';
import { upstreamPolicyFromEnv } from '../domain/upstream-url.ts';
import {
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  RouteNotFoundError,
} from '../errors/http-errors.ts';
import { eventFits } from '../events/route-event.schema.ts';
import {
  getRevision,
  getRoute,
  listAudit,
  listRevisions,
  listRoutes,
  snapshot,
  type Page,
  type PageOptions,
  type RouteKey,
  type Snapshot,
} from '../store/route.store.ts';
import { writeRoute, type ApplyContext, type ApplyOutcome } from '../store/write-route.ts';
import type { Preconditions } from './preconditions.ts';

/** Read once per execution environment: which upstream URLs this deployment accepts. */
const policy = upstreamPolicyFromEnv();

/** Who writes what, under which preconditions. */
export interface WriteRequest {
  key: RouteKey;
  actor: string;
  requestId: string;
  preconditions: Preconditions;
}

export interface WriteResult {
  /** The route after the write; undefined after a deletion. */
  route: Route | undefined;
  /** True when this write created the resource the endpoint names (201). */
  created: boolean;
  /** False for a no-op write: nothing was committed. */
  committed: boolean;
}

function changeContext(request: WriteRequest, context: ApplyContext): ChangeContext {
  return { ...request.key, actor: request.actor, now: context.occurredAt, policy, lastRevision: context.lastRevision };
}

/** Runs one change through the store, honouring If-Match: * (the route must exist). */
async function write<O extends { changed: boolean; route: Route | null }>(
  request: WriteRequest,
  kind: ChangeKind,
  change: (current: Route | undefined, context: ChangeContext) => O,
): Promise<{ outcome: O & ApplyOutcome; route: Route | undefined; committed: boolean }> {
  const { ifMatch, createOnly, mustExist } = request.preconditions;
  const result = await writeRoute({
    key: request.key,
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(createOnly === true ? { createOnly } : {}),
    kind,
    actor: request.actor,
    requestId: request.requestId,
    apply: (current, _lastRevision, context) => {
      if (mustExist === true && current === undefined) {
        throw new PreconditionFailedError('The route does not exist (If-Match: *).');
      }
      const outcome = change(current, changeContext(request, context));
      if (outcome.changed && !eventFits(outcome.route, current)) {
        throw new PayloadTooLargeError(
          'The route would be too large to publish as one event (the route before and after a change must fit in 256 KB); remove versions or rules, or shorten URLs.',
        );
      }
      return { ...outcome, next: outcome.route };
    },
  });
  return { outcome: result.outcome, route: result.route, committed: result.committed !== undefined };
}

export async function putRoute(request: WriteRequest, body: PutRouteBody): Promise<WriteResult> {
  const { outcome, route, committed } = await write(request, 'route.put', (current, context) =>
    putRouteChange(current, body, context),
  );
  return { route, created: committed && outcome.created, committed };
}

export async function deleteRoute(request: WriteRequest): Promise<WriteResult> {
  const { route, committed } = await write(request, 'route.delete', (current, context) =>
    deleteRouteChange(current, context),
  );
  return { route, created: false, committed };
}

export async function putVersion(request: WriteRequest, version: string, body: PutVersionBody): Promise<WriteResult> {
  const { outcome, route, committed } = await write(request, 'version.put', (current, context) =>
    putVersionChange(current, version, body, context),
  );
  return { route, created: committed && outcome.versionCreated, committed };
}

export async function patchVersion(
  request: WriteRequest,
  version: string,
  body: PatchVersionBody,
): Promise<WriteResult> {
  const { route, committed } = await write(request, 'version.patch', (current, context) =>
    patchVersionChange(current, version, body, context),
  );
  return { route, created: false, committed };
}

export async function deleteVersion(request: WriteRequest, version: string): Promise<WriteResult> {
  const { route, committed } = await write(request, 'version.delete', (current, context) =>
    deleteVersionChange(current, version, context),
  );
  return { route, created: false, committed };
}

/** Commits a new revision whose content equals revision `target` (404 if it never was). */
export async function rollbackRoute(request: WriteRequest, target: number): Promise<WriteResult> {
  const past = await getRevision(request.key, target);
  if (past === undefined) throw new NotFoundError(`No revision ${target} of this route.`);
  const { route, committed } = await write(request, 'rollback', (current, context) =>
    rollbackChange(current, { revision: past.revision, route: past.route }, context),
  );
  return { route, created: false, committed };
}

/** Reads one live route, strongly consistent so that a caller reads its own writes. */
export async function readRoute(key: RouteKey): Promise<Route> {
  const route = await getRoute(key, { consistent: true });
  if (route === undefined) throw new RouteNotFoundError();
  return route;
}

export async function readRoutes(
  tenant: string,
  options: PageOptions & { service?: string },
): Promise<Page<Route>> {
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

export async function readSnapshot(tenant: string): Promise<Snapshot> {
  return snapshot(tenant);
}
