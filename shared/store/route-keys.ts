/**
 * The keys of the single table (ARCHITECTURE.md, "Data: one table"):
 *
 * | item            | PK                        | SK                  | GSI1PK (ByTenant) | GSI1SK            |
 * |-----------------|---------------------------|---------------------|-------------------|-------------------|
 * | route           | `T#<t>#R#<service>#<env>` | `ROUTE`             | (none)            | (none)            |
 * | tombstone       | same                      | `ROUTE`             | (none)            | (none)            |
 * | revision        | same                      | `REV#<10 digits>`   | `T#<t>#AUDIT`     | `<seq, 12 digits>`|
 * | tenant sequence | `T#<t>#TENANT`            | `#SEQ`              | (none)            | (none)            |
 * | tenant's copy   | `T#<t>#TENANT`            | `R#<service>#<env>` | (none)            | (none)            |
 *
 * The route item is what resolve reads (one partition per route spreads the hot path). The
 * tenant partition holds the tenant's sequence and a copy of every live route, written in
 * the same transaction: a read of the sequence, then a consistent Query of the routes, is
 * the snapshot (the routes are at least as new as the sequence read first), and the list
 * of routes; a 304 is one read of the sequence item. The revisions, by `seq` in
 * the index, are the audit trail and the change feed.
 *
 * Slugs cannot contain `#`, so no key of one route is a prefix of another's.
 */
import { MAX_REVISION } from '../domain/route.schema.ts';

/** Names one route. */
export interface RouteKey {
  tenant: string;
  service: string;
  env: string;
}

export const ROUTE_SK = 'ROUTE';
export const REVISION_SK_PREFIX = 'REV#';
export const BY_TENANT_INDEX = 'ByTenant';

/** The table's key attribute names. */
export const attr = {
  pk: 'PK',
  sk: 'SK',
  gsi1pk: 'GSI1PK',
  gsi1sk: 'GSI1SK',
} as const;

/** Revisions sort as strings, so they are zero-padded to 10 digits (up to MAX_REVISION). */
function padRevision(revision: number): string {
  if (!Number.isSafeInteger(revision) || revision < 0 || revision > MAX_REVISION) {
    throw new RangeError(`Revision out of range: ${revision}`);
  }
  return String(revision).padStart(10, '0');
}

export function routePk({ tenant, service, env }: RouteKey): string {
  return `T#${tenant}#R#${service}#${env}`;
}

export function revisionSk(revision: number): string {
  return `${REVISION_SK_PREFIX}${padRevision(revision)}`;
}

export const SEQUENCE_SK = '#SEQ';
export const TENANT_ROUTE_SK_PREFIX = 'R#';

/** The tenant partition: its sequence and a copy of each live route. */
export function tenantPk(tenant: string): string {
  return `T#${tenant}#TENANT`;
}

export function tenantRouteSk({ service, env }: Pick<RouteKey, 'service' | 'env'>): string {
  return `${TENANT_ROUTE_SK_PREFIX}${service}#${env}`;
}

/** The largest tenant sequence number: 12 digits sort as strings. */
export const MAX_SEQ = 999_999_999_999;

/** A tenant sequence number, zero-padded to sort as a string. */
function padSeq(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new RangeError(`Sequence out of range: ${seq}`);
  return String(seq).padStart(12, '0');
}

export function tenantAuditPk(tenant: string): string {
  return `T#${tenant}#AUDIT`;
}

/** Revisions in the tenant's audit partition sort by sequence: newest last. */
export function auditGsi1Sk(seq: number): string {
  return padSeq(seq);
}
