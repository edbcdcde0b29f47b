/**
 * The keys of the single table (ARCHITECTURE.md, "Data: one table"):
 *
 * | item     | PK                          | SK              | GSI1PK (ByTenant) | GSI1SK                                      |
 * |----------|-----------------------------|-----------------|-------------------|---------------------------------------------|
 * | route    | `T#<t>#R#<service>#<env>`   | `ROUTE`         | `T#<t>#ROUTES`    | `<service>#<env>`                           |
 * | tombstone| same                        | `ROUTE`         | (none)            | (none)                                      |
 * | revision | same                        | `REV#<10 digits>` | `T#<t>#AUDIT`   | `<occurredAt>#<service>#<env>#<10 digits>`  |
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
export function padRevision(revision: number): string {
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

export function tenantRoutesPk(tenant: string): string {
  return `T#${tenant}#ROUTES`;
}

export function tenantAuditPk(tenant: string): string {
  return `T#${tenant}#AUDIT`;
}

export function routeGsi1Sk({ service, env }: RouteKey): string {
  return `${service}#${env}`;
}

export function auditGsi1Sk(key: RouteKey, occurredAt: string, revision: number): string {
  return `${occurredAt}#${key.service}#${key.env}#${padRevision(revision)}`;
}
