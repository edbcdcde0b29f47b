/**
 * The one write path. Every change to a route (HTTP writes, rollbacks, later rollout steps
 * and migrations) goes through `commitChange`, which owns everything but the pure change
 * itself (shared/domain/route-changes.ts): reading the route and the tenant's sequence,
 * the caller's preconditions, the invariants, revision, sequence and metadata, the size
 * limits, the retry loop, and learning the outcome of a transaction whose answer was lost.
 *
 * A commit is one `TransactWriteItems` of four items (keys in ./route-keys.ts): the route
 * item, conditioned on the revision that was read; the new revision item, conditioned on
 * absence; the tenant's sequence item, conditioned on the value that was read; and the
 * tenant partition's copy of the route. All are stored or none.
 *
 * Outcomes (API.md, "Failure means nothing committed"): every failure of the transaction is
 * one of
 * - refused by a condition: another writer got there first. A caller who sent a precondition
 *   on the route gets 412; anyone else is retried quietly on a fresh read;
 * - not committed for certain (throttled, cancelled, refused before sending): retried while
 *   time and attempts remain, then 503 with `Retry-After`;
 * - ambiguous (sent, no answer): the revision this attempt would have written records the
 *   server-issued request id, so a consistent read of it tells whether it committed. Ours:
 *   a success. Another writer's: ours can never commit (its condition is gone), so retry.
 *   Absent, or the read fails: the attempt may still land; retrying is safe (at most one of
 *   two transactions conditioned on the same revision commits, and the check runs again),
 *   and when time runs out the answer is 503 `outcome-unknown`.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { tableName, transactionClient } from '../clients/dynamodb.ts';
import { checkInvariants, type ContentChange, type RouteChange } from '../domain/route-changes.ts';
import type { Revision, Route } from '../domain/route.schema.ts';
import { upstreamPolicyFromEnv } from '../config.ts';
import {
  OutcomeUnknownError,
  PayloadTooLargeError,
  PreconditionFailedError,
  RETRY_AFTER_SECONDS,
  ServiceUnavailableError,
} from '../errors/http-errors.ts';
import { eventFits } from '../events/event-size.ts';
import { metricNames } from '../metric-names.ts';
import { metrics } from '../observability.ts';
import { MAX_ATTEMPTS } from '../clients/aws-client-config.ts';
import {
  cancellationCodes,
  checkTransactionLimits,
  sendFailure,
} from './dynamodb-errors.ts';
import { parseRevisionItem } from './revision-item.ts';
import { findRevisionItem, readRoute, readSequence } from './route.store.ts';
import {
  attr,
  auditGsi1Sk,
  revisionSk,
  ROUTE_SK,
  routePk,
  SEQUENCE_SK,
  tenantAuditPk,
  tenantPk,
  tenantRouteSk,
  type RouteKey,
} from './route-keys.ts';

/** The caller's conditions on the route (API.md, "Optimistic concurrency"). */
export interface Preconditions {
  /** `If-Match: "<revision>"`: the revision the caller last saw. */
  ifMatch?: number;
  /** `If-Match: *`: the route must exist. */
  mustExist?: boolean;
  /** `If-None-Match: *`: the route must not exist. */
  createOnly?: boolean;
}

/** Who writes which route, under which conditions, and by when the answer is due. */
export interface WriteContext {
  key: RouteKey;
  /** The token's `sub`: `updatedBy`, and the revision's actor. */
  actor: string;
  /** Issued by the server for this request: unique, never chosen by the caller. */
  requestId: string;
  /** The caller's `x-request-id`, when it sent one. */
  correlationId?: string | undefined;
  preconditions: Preconditions;
  /** Epoch milliseconds by which the write must be answered (the function's time, less a margin). */
  deadline: number;
}

export interface CommitResult {
  /** The route as it now is: undefined after a deletion. */
  route: Route | undefined;
  /** The route before the change. */
  previous: Route | undefined;
  /** True when a revision was committed; false for a no-op. */
  committed: boolean;
  /** True when the route did not exist before and does now. */
  created: boolean;
}

/**
 * Attempts that may lose a race for the route. A writer loses only when another writer
 * commits, then re-reads past that commit, so each of n writers racing on one route loses
 * at most n - 1 times: 16 lets a dozen simultaneous writers all land, with room for
 * TransactionConflicts. Races lost only to the tenant's sequence (another route of the
 * tenant committed) are bounded by the deadline instead, and `MAX_TENANT_RACES`, since a
 * busy tenant may have many more writers than that.
 */
export const MAX_WRITE_ATTEMPTS = 16;
const MAX_TENANT_RACES = 200;
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 400;
/** No attempt is started with less time than this left: it could not finish. */
const MIN_ATTEMPT_MS = 250;

/** Read once per execution environment: which upstream URLs this deployment accepts. */
const upstreamPolicy = upstreamPolicyFromEnv();

/** Runs one change to completion: see the module comment. */
export async function commitChange(context: WriteContext, change: RouteChange): Promise<CommitResult> {
  const { key, preconditions } = context;
  /** Revisions that an attempt whose answer was lost would have written. */
  const unresolved = new Set<number>();
  let storeFailures = 0;
  let routeRaces = 0;
  let lastFailure: unknown;
  for (let attempt = 1; routeRaces < MAX_WRITE_ATTEMPTS && attempt <= MAX_WRITE_ATTEMPTS + MAX_TENANT_RACES; attempt += 1) {
    if (context.deadline - Date.now() < MIN_ATTEMPT_MS) break;
    let read: Awaited<ReturnType<typeof readState>>;
    try {
      read = await readState(key, context.deadline);
      const ours = await findOurCommit(context, unresolved, read.lastRevision);
      if (ours !== undefined) return ours;
    } catch (error) {
      // Before anything of ours was sent, a failed read is an ordinary 503; after, unknown.
      if (unresolved.size === 0) throw error;
      lastFailure = error;
      break;
    }
    const { current, lastRevision, lastSeq } = read;

    checkPreconditions(current, preconditions);
    const decided = change.apply(current);
    if (!decided.changed) {
      return { route: current, previous: current, committed: false, created: false };
    }
    const now = new Date().toISOString();
    const next = decided.next === null ? null : stamp(context, current, decided.next, lastRevision + 1, now);
    if (next !== null) checkInvariants(next, upstreamPolicy, change.bodyPath);
    if (!eventFits(next, current)) {
      throw new PayloadTooLargeError(
        'The route would be too large to publish as one event (the route before and after a change must fit in 256 KB); remove versions or rules, or shorten URLs.',
      );
    }
    const record: Revision = {
      tenant: key.tenant,
      service: key.service,
      env: key.env,
      revision: lastRevision + 1,
      seq: lastSeq + 1,
      kind: change.kind,
      actor: context.actor,
      requestId: context.requestId,
      ...(context.correlationId === undefined ? {} : { correlationId: context.correlationId }),
      occurredAt: now,
      route: next,
    };
    const outcome = await send(
      transactionOf({ record, previous: current ?? null, expectedRevision: lastRevision, expectedSeq: lastSeq }),
      clientRequestToken(context.requestId, attempt),
      context.deadline,
    );
    if (outcome.kind === 'committed') {
      metrics.addMetric(metricNames.writesCommitted, 'Count', 1);
      return { route: next ?? undefined, previous: current, committed: true, created: current === undefined && next !== null };
    }
    lastFailure = outcome.error;
    if (outcome.kind === 'lost-race') {
      // Another writer got there first (the route or the tenant's sequence moved on). The
      // next read checks the caller's precondition again: a route past it is a 412 there.
      metrics.addMetric(metricNames.writeConflicts, 'Count', 1);
      if (outcome.route) routeRaces += 1;
    } else {
      // The store failed this attempt: throttled, not sent, or sent without an answer. The
      // retry budget (as many attempts as the SDK's) bounds these, whatever the races.
      storeFailures += 1;
      if (outcome.kind === 'no-answer') unresolved.add(lastRevision + 1);
      if (outcome.kind === 'failed-answer') {
        // The store finished with the request and said it failed; it may still have
        // committed (DynamoDB's 500 promises nothing), and a consistent read says which.
        try {
          const ours = await findOurCommit(context, new Set([lastRevision + 1]), lastRevision + 1);
          if (ours !== undefined) return ours;
        } catch (error) {
          unresolved.add(lastRevision + 1);
          lastFailure = error;
          break;
        }
      }
      if (storeFailures >= MAX_ATTEMPTS) break;
    }
    const pause = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, routeRaces + storeFailures + 1));
    await sleep(Math.max(0, Math.min(pause, context.deadline - Date.now() - MIN_ATTEMPT_MS)));
  }
  return giveUp(context, unresolved, lastFailure);
}

/** Aborts a call still running at `deadline`. */
function signalAt(deadline: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, deadline - Date.now()));
}

/** The route (consistently, since it decides a write) and the tenant's sequence. */
async function readState(
  key: RouteKey,
  deadline: number,
): Promise<{ current: Route | undefined; lastRevision: number; lastSeq: number }> {
  const abortSignal = signalAt(deadline);
  const [{ route, lastRevision }, lastSeq] = await Promise.all([
    readRoute(key, { consistent: true, abortSignal }),
    readSequence(key.tenant, { consistent: true, abortSignal }),
  ]);
  return { current: route, lastRevision, lastSeq };
}

/**
 * Whether an attempt whose answer was lost committed after all: once the route is past a
 * revision that attempt would have written, that revision item says who wrote it.
 */
async function findOurCommit(
  context: WriteContext,
  unresolved: Set<number>,
  lastRevision: number,
): Promise<CommitResult | undefined> {
  for (const revision of unresolved) {
    if (revision > lastRevision) continue;
    const item = await findRevisionItem(context.key, revision, { abortSignal: signalAt(context.deadline) });
    unresolved.delete(revision);
    if (item === undefined) continue;
    const { revision: record, previous } = parseRevisionItem(item);
    if (record.requestId !== context.requestId) continue;
    metrics.addMetric(metricNames.writesCommitted, 'Count', 1);
    return {
      route: record.route ?? undefined,
      previous: previous ?? undefined,
      committed: true,
      created: previous === null && record.route !== null,
    };
  }
  return undefined;
}

/** The answer when no attempt is left: unknown if one may yet land, else unavailable. */
async function giveUp(context: WriteContext, unresolved: Set<number>, cause: unknown): Promise<CommitResult> {
  if (unresolved.size > 0 && context.deadline - Date.now() >= MIN_ATTEMPT_MS) {
    // One last look: the store may have come back.
    try {
      const { lastRevision } = await readState(context.key, context.deadline);
      const ours = await findOurCommit(context, unresolved, lastRevision);
      if (ours !== undefined) return ours;
    } catch {
      // Still unreachable: the outcome stays unknown.
    }
  }
  if (unresolved.size > 0) {
    metrics.addMetric(metricNames.writeOutcomesUnknown, 'Count', 1);
    throw new OutcomeUnknownError(
      'The route store did not answer in time after the change was sent, so whether it was committed is unknown. Read the revisions of the route: the one this request wrote, if it committed, carries the requestId of this answer. A retry (with or without the same Idempotency-Key) runs the write again.',
      RETRY_AFTER_SECONDS,
      { cause },
    );
  }
  throw new ServiceUnavailableError(
    'The route store is unavailable or the route is being changed by too many writers at once; nothing was committed. Retry later.',
    RETRY_AFTER_SECONDS,
    { cause },
  );
}

function checkPreconditions(current: Route | undefined, preconditions: Preconditions): void {
  const { ifMatch, mustExist, createOnly } = preconditions;
  let refusal: string | undefined;
  if (createOnly === true && current !== undefined) {
    refusal = 'The route already exists (If-None-Match: *).';
  } else if (mustExist === true && current === undefined) {
    refusal = 'The route does not exist (If-Match: *).';
  } else if (ifMatch !== undefined && current === undefined) {
    refusal = `The route does not exist, so it is not at revision ${ifMatch} (If-Match).`;
  } else if (ifMatch !== undefined && current !== undefined && current.revision !== ifMatch) {
    refusal = `The route is at revision ${current.revision}, not ${ifMatch} (If-Match).`;
  }
  if (refusal !== undefined) {
    metrics.addMetric(metricNames.writePreconditionFailures, 'Count', 1);
    throw new PreconditionFailedError(refusal);
  }
}

/** The next route: the change's content with the metadata only the write path decides. */
function stamp(
  context: WriteContext,
  current: Route | undefined,
  content: NonNullable<ContentChange['next']>,
  revision: number,
  now: string,
): Route {
  return {
    tenant: context.key.tenant,
    service: context.key.service,
    env: context.key.env,
    versions: content.versions,
    ...(content.defaultVersion === undefined ? {} : { defaultVersion: content.defaultVersion }),
    rules: content.rules,
    revision,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
    updatedBy: context.actor,
  };
}

/** What one commit stores. */
interface CommitItems {
  /** The revision record: the route after the change and who made it. */
  record: Revision;
  /** The route before the change; null when there was none. */
  previous: Route | null;
  /** The revision read before deciding: 0 when the route never existed. */
  expectedRevision: number;
  /** The tenant's sequence read before deciding: 0 before its first change. */
  expectedSeq: number;
}

/** The items of a commit as stored (exported for tests and fixtures that seed the table). */
export function commitItems({ record, previous }: Pick<CommitItems, 'record' | 'previous'>): {
  routeItem: Record<string, unknown>;
  revisionItem: Record<string, unknown>;
  sequenceItem: Record<string, unknown>;
  tenantRouteItem: Record<string, unknown> | undefined;
} {
  const key: RouteKey = record;
  const pk = routePk(key);
  const next = record.route;
  if (next !== null && next.revision !== record.revision) {
    throw new Error(`The next route must carry revision ${record.revision}, not ${next.revision}`);
  }
  const routeItem: Record<string, unknown> =
    next === null
      ? { [attr.pk]: pk, [attr.sk]: ROUTE_SK, entity: 'route', revision: record.revision, deleted: true }
      : { [attr.pk]: pk, [attr.sk]: ROUTE_SK, entity: 'route', revision: record.revision, route: next };
  const revisionItem: Record<string, unknown> = {
    [attr.pk]: pk,
    [attr.sk]: revisionSk(record.revision),
    [attr.gsi1pk]: tenantAuditPk(key.tenant),
    [attr.gsi1sk]: auditGsi1Sk(record.seq),
    entity: 'revision',
    ...record,
    previous,
  };
  const sequenceItem: Record<string, unknown> = {
    [attr.pk]: tenantPk(key.tenant),
    [attr.sk]: SEQUENCE_SK,
    entity: 'sequence',
    seq: record.seq,
    updatedAt: record.occurredAt,
  };
  const tenantRouteItem =
    next === null
      ? undefined
      : {
          [attr.pk]: tenantPk(key.tenant),
          [attr.sk]: tenantRouteSk(key),
          entity: 'tenant-route',
          revision: record.revision,
          seq: record.seq,
          route: next,
        };
  return { routeItem, revisionItem, sequenceItem, tenantRouteItem };
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The transaction of one commit (see the module comment), its items in a fixed order. */
function transactionOf(items: CommitItems): TransactItem[] {
  const { routeItem, revisionItem, sequenceItem, tenantRouteItem } = commitItems(items);
  // Validated before sending, so that nothing malformed is ever stored.
  parseRevisionItem(revisionItem);
  checkTransactionLimits([routeItem, revisionItem, sequenceItem, ...(tenantRouteItem ? [tenantRouteItem] : [])]);
  const absent = { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': attr.pk } };
  /** The item's counter still holds what was read; 0 read means the item must not exist yet. */
  const still = (counter: 'revision' | 'seq', expected: number) =>
    expected === 0
      ? absent
      : {
          ConditionExpression: '#counter = :expected',
          ExpressionAttributeNames: { '#counter': counter },
          ExpressionAttributeValues: { ':expected': expected },
        };
  const key = items.record;
  return [
    { Put: { TableName: tableName, Item: routeItem, ...still('revision', items.expectedRevision) } },
    { Put: { TableName: tableName, Item: revisionItem, ...absent } },
    { Put: { TableName: tableName, Item: sequenceItem, ...still('seq', items.expectedSeq) } },
    tenantRouteItem === undefined
      ? { Delete: { TableName: tableName, Key: { [attr.pk]: tenantPk(key.tenant), [attr.sk]: tenantRouteSk(key) } } }
      : { Put: { TableName: tableName, Item: tenantRouteItem } },
  ];
}

/**
 * `ClientRequestToken` makes DynamoDB treat a repeat of the same transaction within 10
 * minutes as the same request (the emulator ignores it). One per attempt: each attempt
 * sends other items.
 */
function clientRequestToken(requestId: string, attempt: number): string {
  return createHash('sha256').update(`${requestId}#${attempt}`).digest('hex').slice(0, 36);
}

type SendOutcome =
  | { kind: 'committed'; error?: undefined }
  /**
   * Not committed: a condition failed or a transaction conflicted (another writer). `route`
   * is false when only the tenant's sequence moved on (another route of the tenant).
   */
  | { kind: 'lost-race'; route: boolean; error: unknown }
  /** Not committed: the table pushed back, or the request was never sent. */
  | { kind: 'not-committed'; error: unknown }
  /** The store answered with a failure of its own (5xx): done with it, outcome to be read. */
  | { kind: 'failed-answer'; error: unknown }
  /** Sent, and no answer: it may have committed, and may still. */
  | { kind: 'no-answer'; error: unknown };

/**
 * Sends a transaction once (the transaction client does not retry: each attempt's fate must
 * be known here) and says what became of it.
 */
async function send(transactItems: TransactItem[], token: string, deadline: number): Promise<SendOutcome> {
  try {
    await transactionClient.send(new TransactWriteCommand({ TransactItems: transactItems, ClientRequestToken: token }), {
      abortSignal: signalAt(deadline),
    });
    return { kind: 'committed' };
  } catch (error) {
    const codes = cancellationCodes(error);
    if (codes !== undefined) {
      const [route = 'None', , sequence = 'None'] = codes;
      if (codes.some((code) => ['ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded'].includes(code))) {
        return { kind: 'not-committed', error };
      }
      if (route === 'ConditionalCheckFailed' || route === 'TransactionConflict') return { kind: 'lost-race', route: true, error };
      if (sequence === 'ConditionalCheckFailed' || codes.includes('TransactionConflict')) {
        return { kind: 'lost-race', route: false, error };
      }
      // A revision item that exists while the route item says it should not: the table is
      // inconsistent, and retrying would not help.
      throw error;
    }
    const failure = sendFailure(error);
    if (failure === 'not-sent' || failure === 'throttled') return { kind: 'not-committed', error };
    if (failure === 'failed-answer') return { kind: 'failed-answer', error };
    if (failure === 'no-answer') return { kind: 'no-answer', error };
    throw error;
  }
}
