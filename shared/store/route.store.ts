/**
 * The route store's reads: routes, their immutable revisions, the tenant's sequence, audit
 * trail, change feed and snapshot, in the single table (keys in ./route-keys.ts). Every
 * write goes through ./commit-change.ts. Deleting a route leaves a tombstone that keeps its
 * revision count, so a route created again continues from it.
 */
import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from '../zod.ts';
import { documentClient, tableName } from '../clients/dynamodb.ts';
import { RouteSchema, type ChangePage, type FeedChange, type Revision, type Route } from '../domain/route.schema.ts';
import { ValidationError } from '../errors/http-errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { withDynamoDbErrors } from './dynamodb-errors.ts';
import {
  attr,
  auditGsi1Sk,
  BY_TENANT_INDEX,
  REVISION_SK_PREFIX,
  revisionSk,
  ROUTE_SK,
  routePk,
  SEQUENCE_SK,
  tenantAuditPk,
  tenantPk,
  TENANT_ROUTE_SK_PREFIX,
  type RouteKey,
} from './route-keys.ts';

export type { RouteKey } from './route-keys.ts';

/** The route item as stored: a live route, or the tombstone of a deleted one. */
const RouteItemSchema = z.object({
  revision: z.int().check(z.minimum(1)),
  deleted: z.optional(z.literal(true)),
  route: z.optional(RouteSchema),
});

import { parseRevisionItem, type StoredRevision } from './revision-item.ts';

/** The tenant's sequence item as stored. */
const SequenceItemSchema = z.object({ seq: z.int().check(z.minimum(0)) });

/** Options of a read: consistency, and a signal that abandons it (the caller's deadline). */
interface ReadOptions {
  consistent?: boolean;
  abortSignal?: AbortSignal;
}

interface ReadRouteResult {
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

/** One item by its key; `consistent` for a read that decides a write. */
async function getItem(pk: string, sk: string, options: ReadOptions = {}): Promise<Record<string, unknown> | undefined> {
  const { Item } = await withDynamoDbErrors(() =>
    documentClient.send(
      new GetCommand({ TableName: tableName, Key: { [attr.pk]: pk, [attr.sk]: sk }, ConsistentRead: options.consistent ?? false }),
      { abortSignal: options.abortSignal },
    ),
  );
  return Item;
}

/**
 * Reads a route. `consistent` for a read that decides a write; the resolve path reads
 * eventually consistent (half the cost, any replica).
 */
export async function readRoute(key: RouteKey, options: ReadOptions = {}): Promise<ReadRouteResult> {
  const Item = await getItem(routePk(key), ROUTE_SK, options);
  if (Item === undefined) return { route: undefined, lastRevision: 0 };
  const item = RouteItemSchema.parse(Item);
  if (item.deleted === true || item.route === undefined) {
    return { route: undefined, lastRevision: item.revision };
  }
  return { route: item.route, lastRevision: item.revision };
}

/** The live route, or undefined when it never existed or was deleted. */
export async function getRoute(key: RouteKey, options: ReadOptions = {}): Promise<Route | undefined> {
  return (await readRoute(key, options)).route;
}

/** The tenant's sequence: the `seq` of its last committed change, 0 before the first. */
export async function readSequence(tenant: string, options: ReadOptions = {}): Promise<number> {
  const Item = await getItem(tenantPk(tenant), SEQUENCE_SK, options);
  return Item === undefined ? 0 : SequenceItemSchema.parse(Item).seq;
}

/** One revision item as stored, read consistently (the write path's outcome check). */
export async function findRevisionItem(
  key: RouteKey,
  revision: number,
  options: Pick<ReadOptions, 'abortSignal'> = {},
): Promise<Record<string, unknown> | undefined> {
  return getItem(routePk(key), revisionSk(revision), { ...options, consistent: true });
}

/** One past revision, as it was; undefined when there is no such revision. */
export async function getRevision(key: RouteKey, revision: number): Promise<Revision | undefined> {
  const Item = await getItem(routePk(key), revisionSk(revision));
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

/**
 * The live routes of a tenant, ordered by service then env; optionally of one service. Read
 * consistently from the tenant partition, where each commit keeps a copy of its route.
 */
export async function listRoutes(
  tenant: string,
  options: PageOptions & { service?: string },
): Promise<Page<Route>> {
  const pk = tenantPk(tenant);
  const { service, ...page } = options;
  const prefix = service === undefined ? TENANT_ROUTE_SK_PREFIX : `${TENANT_ROUTE_SK_PREFIX}${service}#`;
  return queryPage(
    {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': attr.pk, '#sk': attr.sk },
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ConsistentRead: true,
    },
    // A cursor of another service's listing would start outside this one's range.
    { scope: pk, partitionAttr: attr.pk, sortPrefix: { attr: attr.sk, prefix }, ...page },
    routeOfItem,
  );
}

export interface Snapshot {
  routes: Route[];
  /** The tenant's sequence the routes are at least as new as. */
  seq: number;
}

/**
 * Every live route of a tenant, for data-plane caches, labelled with a sequence it is at
 * least as new as. The label is read first, by a consistent GetItem, which DynamoDB
 * serialises with transactions: every change up to it has fully committed when it
 * returns. The routes are then read by consistent Queries of the tenant partition (which
 * are only read-committed, so they may show part of a later change, never less than the
 * label). A client that asks again with the label misses nothing. `seq`, when the caller
 * has just read it the same way, saves the first read.
 */
export async function snapshot(tenant: string, seq?: number): Promise<Snapshot> {
  const label = seq ?? (await readSequence(tenant, { consistent: true }));
  const routes: Route[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await withDynamoDbErrors(() =>
      documentClient.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': attr.pk, '#sk': attr.sk },
          ExpressionAttributeValues: { ':pk': tenantPk(tenant), ':prefix': TENANT_ROUTE_SK_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    routes.push(...(output.Items ?? []).map(routeOfItem));
    startKey = output.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { routes, seq: label };
}


/**
 * The tenant's revisions after sequence `after`, in sequence order. The index that serves
 * them is eventually consistent, so a later change may show before an earlier one: only the
 * run of consecutive sequence numbers from `after + 1` is returned, and a caller that asks
 * again from its last item misses nothing.
 */
export async function listRevisionsBySeq(
  tenant: string,
  options: { after: number; limit: number },
): Promise<StoredRevision[]> {
  const output = await withDynamoDbErrors(() =>
    documentClient.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: BY_TENANT_INDEX,
        KeyConditionExpression: '#pk = :pk AND #sk > :after',
        ExpressionAttributeNames: { '#pk': attr.gsi1pk, '#sk': attr.gsi1sk },
        ExpressionAttributeValues: { ':pk': tenantAuditPk(tenant), ':after': auditGsi1Sk(options.after) },
        Limit: options.limit,
      }),
    ),
  );
  const revisions: StoredRevision[] = [];
  for (const item of output.Items ?? []) {
    const stored = parseRevisionItem(item);
    if (stored.revision.seq !== options.after + revisions.length + 1) break;
    revisions.push(stored);
  }
  return revisions;
}

/** The tenant's changes after `after`, in sequence order (see `listRevisionsBySeq`). */
export async function listChanges(tenant: string, options: { after: number; limit: number }): Promise<ChangePage> {
  const [latest, revisions] = await Promise.all([
    readSequence(tenant, { consistent: true }),
    listRevisionsBySeq(tenant, options),
  ]);
  const items = revisions.map(({ revision, previous }): FeedChange => ({
    seq: revision.seq,
    service: revision.service,
    env: revision.env,
    revision: revision.revision,
    kind: revision.route === null ? 'deleted' : previous === null ? 'created' : 'updated',
    route: revision.route,
    occurredAt: revision.occurredAt,
  }));
  // `latest` was read beside the index query: never report it behind the items it lists.
  return { items, latest: Math.max(latest, items.at(-1)?.seq ?? 0) };
}

function routeOfItem(item: Record<string, unknown>): Route {
  const { route } = RouteItemSchema.parse(item);
  if (route === undefined) throw new Error('A listed route item holds no route');
  return route;
}

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
