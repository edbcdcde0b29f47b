/**
 * The write use case every route change goes through: read the route (consistently),
 * check the caller's precondition, let the caller's pure `apply` decide the next route,
 * and commit it with `commitChange`. When another writer got there first, a caller who
 * sent a precondition gets 412; anyone else is retried quietly on a fresh read, a bounded
 * number of times with full-jitter backoff (ARCHITECTURE.md, "Data: one table").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeKind, Revision, Route } from '../domain/route.schema.ts';
import { PreconditionFailedError, ServiceUnavailableError } from '../errors/http-errors.ts';
import { cancellationCodes, RETRY_AFTER_SECONDS } from './dynamodb-errors.ts';
import { commitChange, readRoute, type RouteKey } from './route.store.ts';

/** What `apply` gets besides the current route: the numbers the next route must carry. */
export interface ApplyContext {
  lastRevision: number;
  /** `lastRevision + 1`: the revision the next route is stored with. */
  nextRevision: number;
  /** The time of the change, ISO 8601. */
  occurredAt: string;
  actor: string;
}

/** What `apply` decides: the next route (null deletes it) and whether anything changed. */
export interface ApplyOutcome {
  next: Route | null;
  /** False for a no-op write: nothing is committed and the current route is returned. */
  changed: boolean;
}

export interface WriteRouteOptions<O extends ApplyOutcome> {
  key: RouteKey;
  /** `If-Match`: the revision the caller last saw; 412 if the route is absent or moved on. */
  ifMatch?: number;
  /** `If-None-Match: *`: 412 if the route exists. */
  createOnly?: boolean;
  /**
   * Computes the next route from the current one, or throws (404, 409, 400). Pure: it may
   * run more than once when writers race. The store stamps the metadata of the next route
   * (tenant, service, env, revision, createdAt, updatedAt, updatedBy) whatever `apply` set.
   */
  apply: (current: Route | undefined, lastRevision: number, context: ApplyContext) => O;
  kind: ChangeKind | ((current: Route | undefined, outcome: O) => ChangeKind);
  actor: string;
  requestId: string;
}

export interface WriteRouteResult<O extends ApplyOutcome> {
  /** What `apply` returned on the attempt that counted (its `next` unstamped). */
  outcome: O;
  /** The route as it now is: undefined after a deletion. */
  route: Route | undefined;
  /** The route before the change. */
  previous: Route | undefined;
  /** The revision now current (the committed one, or the unchanged one for a no-op). */
  revision: number;
  /** The revision record when something was committed; undefined for a no-op. */
  committed: Revision | undefined;
}

/**
 * Attempts in all when writers without a precondition race for the same route. A writer
 * loses only to another writer's commit and then re-reads past it, so each of n racing
 * writers loses at most n - 1 times: 16 lets a dozen simultaneous writers all land, with
 * room for TransactionConflicts. The backoff sleeps at most ~4.6 s in all (~2.3 s expected),
 * inside the functions' 10 s timeout.
 */
export const MAX_WRITE_ATTEMPTS = 16;
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 400;

/** Runs one write to completion: see the module comment. */
export async function writeRoute<O extends ApplyOutcome>(options: WriteRouteOptions<O>): Promise<WriteRouteResult<O>> {
  const { key, ifMatch, createOnly = false } = options;
  const hasPrecondition = ifMatch !== undefined || createOnly;
  for (let attempt = 1; ; attempt += 1) {
    const { route: current, lastRevision } = await readRoute(key, { consistent: true });
    checkPrecondition(current, ifMatch, createOnly);

    const occurredAt = new Date().toISOString();
    const context: ApplyContext = {
      lastRevision,
      nextRevision: lastRevision + 1,
      occurredAt,
      actor: options.actor,
    };
    const outcome = options.apply(current, lastRevision, context);
    if (!outcome.changed) {
      return { outcome, route: current, previous: current, revision: lastRevision, committed: undefined };
    }
    const next = outcome.next === null ? null : stamp(outcome.next, key, current, context);
    try {
      const committed = await commitChange({
        key,
        expectedRevision: lastRevision,
        next,
        previous: current ?? null,
        kind: typeof options.kind === 'function' ? options.kind(current, outcome) : options.kind,
        actor: options.actor,
        requestId: options.requestId,
        occurredAt,
      });
      return { outcome, route: next ?? undefined, previous: current, revision: committed.revision, committed };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes === undefined) throw error;
      const [routeReason = 'None', revisionReason = 'None'] = codes;
      const lostRace = routeReason === 'ConditionalCheckFailed';
      const conflict = routeReason === 'TransactionConflict' || revisionReason === 'TransactionConflict';
      const throttled = codes.some((code) =>
        ['ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded'].includes(code),
      );
      if (throttled) {
        throw new ServiceUnavailableError('The route store is busy; retry later.', RETRY_AFTER_SECONDS, {
          cause: error,
        });
      }
      if (lostRace && hasPrecondition) {
        throw new PreconditionFailedError('The route changed while the request was processed.', { cause: error });
      }
      if (!lostRace && !conflict) {
        // Includes a revision item that exists while the route item says it should not:
        // the table is inconsistent, and retrying would not help.
        throw error;
      }
      if (attempt >= MAX_WRITE_ATTEMPTS) {
        throw new ServiceUnavailableError(
          'The route is being changed by too many writers at once; retry later.',
          RETRY_AFTER_SECONDS,
          { cause: error },
        );
      }
      await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
    }
  }
}

function checkPrecondition(current: Route | undefined, ifMatch: number | undefined, createOnly: boolean): void {
  if (createOnly && current !== undefined) {
    throw new PreconditionFailedError('The route already exists (If-None-Match: *).');
  }
  if (ifMatch !== undefined) {
    if (current === undefined) {
      throw new PreconditionFailedError(`The route does not exist, so it is not at revision ${ifMatch} (If-Match).`);
    }
    if (current.revision !== ifMatch) {
      throw new PreconditionFailedError(
        `The route is at revision ${current.revision}, not ${ifMatch} (If-Match).`,
      );
    }
  }
}

/** The next route with the metadata only the store decides. */
function stamp(next: Route, key: RouteKey, current: Route | undefined, context: ApplyContext): Route {
  return {
    ...next,
    tenant: key.tenant,
    service: key.service,
    env: key.env,
    revision: context.nextRevision,
    createdAt: current?.createdAt ?? context.occurredAt,
    updatedAt: context.occurredAt,
    updatedBy: context.actor,
  };
}
