/**
 * The tenant's routes as the client holds them, the checks a snapshot body must pass before
 * it replaces them, and what changed between two states.
 *
 * The checks are written out here rather than taken from the server's zod schemas so that
 * the client depends on nothing but the resolve engine (which needs no zod at run time).
 * They cover every field the engine reads, with the same bounds as
 * shared/domain/route.schema.ts; a body that fails them is refused as a whole and the last
 * good state stays.
 */
import type { Route, Rule, Version } from '../../shared/domain/route.schema.ts';

/** The key of a route within a tenant: `service/env`. */
export type RouteId = `${string}/${string}`;

export const routeId = (service: string, env: string): RouteId => `${service}/${env}`;

export interface TenantState {
  readonly tenant: string;
  /** Every live route of the tenant by `service/env`. Routes are never mutated. */
  readonly routes: ReadonlyMap<RouteId, Route>;
  /** The snapshot's entity tag, sent back as `If-None-Match`; undefined if none was sent. */
  readonly etag: string | undefined;
  /** The tenant's change sequence at the snapshot (API.md, Change feed), when the server sends it. */
  readonly seq: number | undefined;
}

/** One route that differs between two states. */
export interface RouteChange {
  service: string;
  env: string;
  /** null when the route was created. */
  previousRevision: number | null;
  /** null when the route was deleted. */
  revision: number | null;
}

export class InvalidSnapshotError extends Error {
  constructor(path: string, problem: string) {
    super(`invalid snapshot: ${path} ${problem}`);
    this.name = 'InvalidSnapshotError';
  }
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const versionStates: ReadonlySet<string> = new Set<Version['state']>(['active', 'draining', 'disabled']);
/** The same bound as MAX_WEIGHT in shared/domain/route.schema.ts. */
const maxWeight = 10_000;

function objectAt(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new InvalidSnapshotError(path, 'must be an object');
  return value;
}

function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new InvalidSnapshotError(path, 'must be a string');
  return value;
}

function integerAt(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidSnapshotError(path, `must be an integer in ${min}..${max}`);
  }
  return value;
}

function versionAt(value: unknown, path: string): Version {
  const version = objectAt(value, path);
  const state = stringAt(version.state, `${path}.state`);
  if (!versionStates.has(state)) throw new InvalidSnapshotError(`${path}.state`, 'must be active, draining or disabled');
  return {
    url: stringAt(version.url, `${path}.url`),
    weight: integerAt(version.weight, `${path}.weight`, 0, maxWeight),
    state: state as Version['state'],
  };
}

function ruleAt(value: unknown, path: string): Rule {
  const rule = objectAt(value, path);
  return {
    header: stringAt(rule.header, `${path}.header`),
    equals: stringAt(rule.equals, `${path}.equals`),
    version: stringAt(rule.version, `${path}.version`),
  };
}

/** Checks one route document and copies the fields the client keeps (nothing else). */
export function parseRoute(value: unknown, path: string): Route {
  const route = objectAt(value, path);
  const versionsObject = objectAt(route.versions, `${path}.versions`);
  // A null-prototype record: a version named `__proto__` or `constructor` stays data.
  const versions: Record<string, Version> = Object.create(null) as Record<string, Version>;
  for (const [name, version] of Object.entries(versionsObject)) {
    versions[name] = versionAt(version, `${path}.versions.${name}`);
  }
  if (!Array.isArray(route.rules)) throw new InvalidSnapshotError(`${path}.rules`, 'must be an array');
  const rules = route.rules.map((rule, index) => ruleAt(rule, `${path}.rules[${index}]`));
  const parsed: Route = {
    tenant: stringAt(route.tenant, `${path}.tenant`),
    service: stringAt(route.service, `${path}.service`),
    env: stringAt(route.env, `${path}.env`),
    versions,
    rules,
    revision: integerAt(route.revision, `${path}.revision`, 1),
    createdAt: stringAt(route.createdAt, `${path}.createdAt`),
    updatedAt: stringAt(route.updatedAt, `${path}.updatedAt`),
    updatedBy: stringAt(route.updatedBy, `${path}.updatedBy`),
  };
  if (route.defaultVersion !== undefined) {
    parsed.defaultVersion = stringAt(route.defaultVersion, `${path}.defaultVersion`);
  }
  return parsed;
}

/**
 * Builds a state from routes, refusing any that belongs to another tenant or repeats a
 * `service/env` (either would make the client answer for a route the server does not have).
 */
export function stateOf(tenant: string, routes: readonly Route[], etag: string | undefined, seq: number | undefined): TenantState {
  const byId = new Map<RouteId, Route>();
  routes.forEach((route, index) => {
    if (route.tenant !== tenant) throw new InvalidSnapshotError(`routes[${index}].tenant`, `must be ${tenant}`);
    const id = routeId(route.service, route.env);
    if (byId.has(id)) throw new InvalidSnapshotError(`routes[${index}]`, `repeats ${id}`);
    byId.set(id, route);
  });
  return { tenant, routes: byId, etag, seq };
}

/** Checks a snapshot body (`GET /v1/tenants/{tenant}/snapshot`) and makes it a state. */
export function parseSnapshot(body: unknown, tenant: string, etag: string | undefined): TenantState {
  const snapshot = objectAt(body, 'body');
  if (stringAt(snapshot.tenant, 'tenant') !== tenant) throw new InvalidSnapshotError('tenant', `must be ${tenant}`);
  if (!Array.isArray(snapshot.routes)) throw new InvalidSnapshotError('routes', 'must be an array');
  const routes = snapshot.routes.map((route, index) => parseRoute(route, `routes[${index}]`));
  const seq = snapshot.seq === undefined ? undefined : integerAt(snapshot.seq, 'seq', 0);
  return stateOf(tenant, routes, etag, seq);
}

/** Routes created, changed (another revision) or deleted from `before` to `after`, sorted by id. */
export function diffStates(before: TenantState | undefined, after: TenantState): RouteChange[] {
  const changes: RouteChange[] = [];
  const previous = before?.routes ?? new Map<RouteId, Route>();
  for (const [id, route] of after.routes) {
    const old = previous.get(id);
    if (old?.revision !== route.revision) {
      changes.push({ service: route.service, env: route.env, previousRevision: old?.revision ?? null, revision: route.revision });
    }
  }
  for (const [id, old] of previous) {
    if (!after.routes.has(id)) {
      changes.push({ service: old.service, env: old.env, previousRevision: old.revision, revision: null });
    }
  }
  return changes.sort((a, b) => {
    const left = routeId(a.service, a.env);
    const right = routeId(b.service, b.env);
    return left < right ? -1 : left > right ? 1 : 0;
  });
}
