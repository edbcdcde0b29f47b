/**
 * The tenant's routes as the client holds them, the checks a snapshot body or a change-feed
 * page must pass before it touches them, the feed's changes applied to a state, and what
 * changed between two states.
 *
 * The checks are written out here rather than taken from the server's zod schemas so that
 * the client depends on nothing but the resolve engine (which needs no zod at run time).
 * They cover every field the engine reads, with the same bounds as
 * shared/domain/route.schema.ts; a body that fails them is refused as a whole and the last
 * good state stays.
 */
import { MAX_WEIGHT, snapshotEtag } from '../../shared/domain/route-limits.ts';
import type { ChangePage, FeedChange, Route, Rule, Version } from '../../shared/domain/route.schema.ts';

export type { ChangePage, FeedChange };
import { ChangeFeedError } from './errors.ts';

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

/** A state whose `seq` is known: the change feed can continue from it. */
export type SequencedState = TenantState & { readonly seq: number };

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
  constructor(path: string, problem: string, subject = 'snapshot') {
    super(`invalid ${subject}: ${path} ${problem}`);
    this.name = 'InvalidSnapshotError';
  }
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const versionStates: ReadonlySet<string> = new Set<Version['state']>(['active', 'draining', 'disabled']);

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
    weight: integerAt(version.weight, `${path}.weight`, 0, MAX_WEIGHT),
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


const changeKinds: ReadonlySet<string> = new Set<FeedChange['kind']>(['created', 'updated', 'deleted']);

const pageError = (path: string, problem: string): InvalidSnapshotError => new InvalidSnapshotError(path, problem, 'change page');

/**
 * Checks a change-feed page: every field the client applies, each route as a snapshot's
 * routes are checked, and that each change's route is the one it names (tenant, service,
 * env, revision) and is null exactly for a deletion. Whether the changes follow the held
 * state is `applyChanges`' question.
 */
export function parseChangePage(body: unknown, tenant: string): ChangePage {
  const page = objectAt(body, 'body');
  if (!Array.isArray(page.items)) throw pageError('items', 'must be an array');
  const items = page.items.map((value, index): FeedChange => {
    const path = `items[${index}]`;
    const change = objectAt(value, path);
    const kind = stringAt(change.kind, `${path}.kind`);
    if (!changeKinds.has(kind)) throw pageError(`${path}.kind`, 'must be created, updated or deleted');
    const parsed: FeedChange = {
      seq: integerAt(change.seq, `${path}.seq`, 1),
      service: stringAt(change.service, `${path}.service`),
      env: stringAt(change.env, `${path}.env`),
      revision: integerAt(change.revision, `${path}.revision`, 1),
      kind: kind as FeedChange['kind'],
      route: change.route === null ? null : parseRoute(change.route, `${path}.route`),
      occurredAt: stringAt(change.occurredAt, `${path}.occurredAt`),
    };
    if ((parsed.route === null) !== (parsed.kind === 'deleted')) throw pageError(`${path}.route`, 'must be null exactly when the route was deleted');
    if (parsed.route !== null) {
      const { route } = parsed;
      if (route.tenant !== tenant) throw pageError(`${path}.route.tenant`, `must be ${tenant}`);
      if (route.service !== parsed.service || route.env !== parsed.env || route.revision !== parsed.revision) {
        throw pageError(`${path}.route`, `must be ${parsed.service}/${parsed.env} at revision ${parsed.revision}`);
      }
    }
    return parsed;
  });
  return { items, latest: integerAt(page.latest, 'latest', 0) };
}

/**
 * The state after `changes` (the feed's next changes after `state.seq`, in order), built on
 * a copy: `state` is never touched, so a refusal leaves the held state whole.
 *
 * A snapshot's routes are "at least as new as" its `seq` (a change may land between the
 * read of the sequence and the read of the routes), so a change whose revision the state
 * already holds, or a newer one, is skipped rather than applied backwards. Anything that
 * does not line up is a `ChangeFeedError('gap')`: a `seq` other than the next, a revision
 * that skips one of the route's, or a creation of a route the state holds live at an older
 * revision (its deletion was missed).
 *
 * The result's ETag follows the server's form (the quoted `seq`) when the state's did;
 * otherwise it is unknown, and the next snapshot request simply gets a 200.
 */
export function applyChanges(state: SequencedState, changes: readonly FeedChange[]): SequencedState {
  const routes = new Map(state.routes);
  let seq = state.seq;
  for (const change of changes) {
    if (change.seq !== seq + 1) throw new ChangeFeedError('gap', `change ${change.seq} after ${seq}`);
    const id = routeId(change.service, change.env);
    const held = routes.get(id);
    if (held !== undefined && (held.revision < change.revision - 1 || (change.kind === 'created' && held.revision < change.revision))) {
      throw new ChangeFeedError('gap', `${id} ${change.kind} at revision ${change.revision} while revision ${held.revision} is held`);
    }
    if (held === undefined || held.revision < change.revision) {
      if (change.route === null) routes.delete(id);
      else routes.set(id, change.route);
    }
    seq = change.seq;
  }
  const etag = state.etag === snapshotEtag(state.seq) ? snapshotEtag(seq) : seq === state.seq ? state.etag : undefined;
  return { tenant: state.tenant, routes, etag, seq };
}

/** The snapshot's entity tag at `seq`, as the server forms it (API.md: "its ETag is derived from it"). */
