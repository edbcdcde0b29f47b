/**
 * The route store: routes, their immutable revisions and the tenant's audit trail in the
 * single table (keys in ./route-keys.ts). A change is one `TransactWriteItems` of the route
 * item, conditioned on the revision that was read, and the new revision item, conditioned
 * on absence: both are stored or neither. Deleting a route leaves a tombstone that keeps
 * its revision count, so a route created again continues from it.
 *
 * The store knows nothing of how a route changes: callers compute the next route (see
 * ./write-route.ts for the read-decide-commit loop).
 */
import { createHash } from 'node:crypto';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { documentClient, tableName } from '../clients/dynamodb.ts';
import {
  RouteSchema,
  type ChangeKind,
  type Revision,
  type Route,
} from '../domain/route.schema.ts';
import { ValidationError } from '../errors/http-errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { checkTransactionLimits, withDynamoDbErrors } from './dynamodb-errors.ts';
import {
  attr,
  auditGsi1Sk,
  BY_TENANT_INDEX,
  REVISION_SK_PREFIX,
  revisionSk,
  ROUTE_SK,
  routeGsi1Sk,
  routePk,
  tenantAuditPk,
  tenantRoutesPk,
  type RouteKey,
} from './route-keys.ts';

export type { RouteKey } from './route-keys.ts';

/** The route item as stored: a live route, or the tombstone of a deleted one. */
const RouteItemSchema = z.object({
  revision: z.int().min(1),
  deleted: z.literal(true).optional(),
  route: RouteSchema.optional(),
});

import { parseRevisionItem } from './revision-item.ts';

export { isRevisionItem, parseRevisionItem, RevisionItemSchema, type StoredRevision } from './revision-item.ts';

export interface ReadRouteResult {
  /** The live route; undefined when it never existed or was deleted. */
  route: Route | undefined;
  /** The revision of the last committed change (a deletion included); 0 if none. */
  lastRevision: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

export interface PageOptions {
  /** 1..100. */
  limit: number;
  cursor?: string;
}

/**
 * Reads a route. `consistent` for a read that decides a write; the resolve path reads
 * eventually consistent (half the cost, any replica).
 */
export async function readRoute(key: RouteKey, options: { consistent?: boolean } = {}): Promise<ReadRouteResult> {
  const { Item } = await withDynamoDbErrors(() =>
    documentClient.send(
      new GetCommand({
        TableName: tableName,
        Key: { [attr.pk]: routePk(key), [attr.sk]: ROUTE_SK },
        ConsistentRead: options.consistent ?? false,
      }),
    ),
  );
  if (Item === undefined) return { route: undefined, lastRevision: 0 };
  const item = RouteItemSchema.parse(Item);
  if (item.deleted === true || item.route === undefined) {
    return { route: undefined, lastRevision: item.revision };
  }
  return { route: item.route, lastRevision: item.revision };
}

/** The live route, or undefined when it never existed or was deleted. */
export async function getRoute(key: RouteKey, options: { consistent?: boolean } = {}): Promise<Route | undefined> {
  return (await readRoute(key, options)).route;
}

export interface Change {
  key: RouteKey;
  /** The revision read before deciding: 0 when the route never existed. */
  expectedRevision: number;
  /** The route after the change, its `revision` being `expectedRevision + 1`; null deletes. */
  next: Route | null;
  /** The route before the change; null when there was none. */
  previous: Route | null;
  kind: ChangeKind;
  actor: string;
  requestId: string;
  /** ISO 8601 time of the change. */
  occurredAt: string;
}

/** The two puts of a change, exposed for tests of the limits and for the transaction. */
export function changeItems(change: Change): { routeItem: Record<string, unknown>; revisionItem: Record<string, unknown> } {
  const { key, expectedRevision, next, previous } = change;
  const revision = expectedRevision + 1;
  if (next !== null && next.revision !== revision) {
    throw new Error(`The next route must carry revision ${revision}, not ${next.revision}`);
  }
  const pk = routePk(key);
  const routeItem: Record<string, unknown> =
    next === null
      ? // A tombstone: no index attributes, so list and snapshot never see it.
        { [attr.pk]: pk, [attr.sk]: ROUTE_SK, entity: 'route', revision, deleted: true }
      : {
          [attr.pk]: pk,
          [attr.sk]: ROUTE_SK,
          [attr.gsi1pk]: tenantRoutesPk(key.tenant),
          [attr.gsi1sk]: routeGsi1Sk(key),
          entity: 'route',
          revision,
          route: next,
        };
  const record: Revision = {
    tenant: key.tenant,
    service: key.service,
    env: key.env,
    revision,
    kind: change.kind,
    actor: change.actor,
    requestId: change.requestId,
    occurredAt: change.occurredAt,
    route: next,
  };
  const revisionItem: Record<string, unknown> = {
    [attr.pk]: pk,
    [attr.sk]: revisionSk(revision),
    [attr.gsi1pk]: tenantAuditPk(key.tenant),
    [attr.gsi1sk]: auditGsi1Sk(key, change.occurredAt, revision),
    entity: 'revision',
    ...record,
    previous,
  };
  return { routeItem, revisionItem };
}

/**
 * Commits one change atomically. Throws the SDK's `TransactionCanceledException` when a
 * condition fails (the route moved on since it was read: see ./write-route.ts), a
 * `PayloadTooLargeError` when an item would exceed 400 KB, and a `ServiceUnavailableError`
 * when DynamoDB keeps pushing back.
 */
export async function commitChange(change: Change): Promise<Revision> {
  const { routeItem, revisionItem } = changeItems(change);
  // Validated before sending, so that nothing malformed is ever stored.
  const committed = parseRevisionItem(revisionItem).revision;
  checkTransactionLimits([routeItem, revisionItem]);
  const routeCondition: Pick<TransactWritePut, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
    change.expectedRevision === 0
      ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': attr.pk } }
      : {
          ConditionExpression: '#revision = :expected',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':expected': change.expectedRevision },
        };
  await withDynamoDbErrors(() =>
    documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: routeItem, ...routeCondition } },
          {
            Put: {
              TableName: tableName,
              Item: revisionItem,
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': attr.pk },
            },
          },
        ],
      }),
    ),
  );
  return committed;
}

/** One past revision, as it was; undefined when there is no such revision. */
export async function getRevision(key: RouteKey, revision: number): Promise<Revision | undefined> {
  const { Item } = await withDynamoDbErrors(() =>
    documentClient.send(
      new GetCommand({
        TableName: tableName,
        Key: { [attr.pk]: routePk(key), [attr.sk]: revisionSk(revision) },
      }),
    ),
  );
  return Item === undefined ? undefined : parseRevisionItem(Item).revision;
}

/** The revisions of one route, newest first. */
export async function listRevisions(key: RouteKey, options: PageOptions): Promise<Page<Revision>> {
  const pk = routePk(key);
  return queryPage(
    {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': attr.pk, '#sk': attr.sk },
      ExpressionAttributeValues: { ':pk': pk, ':prefix': REVISION_SK_PREFIX },
      ScanIndexForward: false,
    },
    { scope: pk, partitionAttr: attr.pk, ...options },
    (item) => parseRevisionItem(item).revision,
  );
}

/** The audit trail of a tenant: every revision of every route, newest first. */
export async function listAudit(tenant: string, options: PageOptions): Promise<Page<Revision>> {
  const pk = tenantAuditPk(tenant);
  return queryPage(
    {
      IndexName: BY_TENANT_INDEX,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': attr.gsi1pk },
      ExpressionAttributeValues: { ':pk': pk },
      ScanIndexForward: false,
    },
    { scope: pk, partitionAttr: attr.gsi1pk, ...options },
    (item) => parseRevisionItem(item).revision,
  );
}

/** The live routes of a tenant, ordered by service then env; optionally of one service. */
export async function listRoutes(
  tenant: string,
  options: PageOptions & { service?: string },
): Promise<Page<Route>> {
  const pk = tenantRoutesPk(tenant);
  const { service, ...page } = options;
  const input: QueryInputBase =
    service === undefined
      ? {
          IndexName: BY_TENANT_INDEX,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': attr.gsi1pk },
          ExpressionAttributeValues: { ':pk': pk },
        }
      : {
          IndexName: BY_TENANT_INDEX,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': attr.gsi1pk, '#sk': attr.gsi1sk },
          ExpressionAttributeValues: { ':pk': pk, ':prefix': `${service}#` },
        };
  return queryPage(
    input,
    {
      scope: pk,
      partitionAttr: attr.gsi1pk,
      // A cursor of another service's listing would start outside this one's range.
      ...(service === undefined ? {} : { sortPrefix: { attr: attr.gsi1sk, prefix: `${service}#` } }),
      ...page,
    },
    routeOfItem,
  );
}

export interface Snapshot {
  routes: Route[];
  /** A strong entity tag, quoted: changes exactly when a route of the tenant changes. */
  etag: string;
}

/**
 * Every live route of a tenant, for data-plane caches, with an entity tag over the routes'
 * (service, env, revision): every commit raises a revision, a deletion removes a route, so
 * the tag changes exactly when the content does. Read from the index, so eventually
 * consistent: a change shows up within the index's propagation delay.
 */
export async function snapshot(tenant: string): Promise<Snapshot> {
  const routes: Route[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await withDynamoDbErrors(() =>
      documentClient.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: BY_TENANT_INDEX,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': attr.gsi1pk },
          ExpressionAttributeValues: { ':pk': tenantRoutesPk(tenant) },
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    routes.push(...(output.Items ?? []).map(routeOfItem));
    startKey = output.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { routes, etag: snapshotEtag(routes) };
}

/** The entity tag of a set of routes (see `snapshot`). */
export function snapshotEtag(routes: readonly Route[]): string {
  const lines = routes.map((route) => `${route.service}/${route.env}/${route.revision}`).sort();
  const digest = createHash('sha256').update(lines.join('\n')).digest('base64url').slice(0, 27);
  return `"${digest}"`;
}

function routeOfItem(item: Record<string, unknown>): Route {
  const { route } = RouteItemSchema.parse(item);
  if (route === undefined) throw new Error('A listed route item holds no route');
  return route;
}

type TransactWritePut = NonNullable<NonNullable<TransactWriteCommandInput['TransactItems']>[number]['Put']>;

type QueryInputBase = Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>;

interface QueryPageOptions extends PageOptions {
  /** The partition the cursor belongs to: a cursor of any other partition is refused. */
  scope: string;
  partitionAttr: string;
  sortPrefix?: { attr: string; prefix: string };
}

const StoredKeySchema = z.record(z.string(), z.string());

async function queryPage<T>(
  input: QueryInputBase,
  options: QueryPageOptions,
  parse: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const startKey = options.cursor === undefined ? undefined : startKeyOf(options);
  const output = await withDynamoDbErrors(() =>
    documentClient.send(
      new QueryCommand({ ...input, TableName: tableName, Limit: options.limit, ExclusiveStartKey: startKey }),
    ),
  );
  return {
    items: (output.Items ?? []).map(parse),
    nextCursor:
      output.LastEvaluatedKey === undefined ? null : encodeCursor(options.scope, output.LastEvaluatedKey),
  };
}

/** Decodes a cursor and checks that the key inside belongs to the partition being read. */
function startKeyOf(options: QueryPageOptions): Record<string, string> {
  const decoded = decodeCursor(options.scope, options.cursor ?? '');
  const parsed = StoredKeySchema.safeParse(decoded);
  const key = parsed.success ? parsed.data : undefined;
  const sort = options.sortPrefix;
  if (
    key === undefined ||
    key[options.partitionAttr] !== options.scope ||
    (sort !== undefined && !(key[sort.attr] ?? '').startsWith(sort.prefix))
  ) {
    throw new ValidationError('The cursor does not belong to this listing.', [
      { path: 'query.cursor', message: 'invalid cursor' },
    ]);
  }
  return key;
}
