/**
 * The route registry's changes as pure functions: each takes the route as it is (or
 * `undefined` when there is none) and the requested change, and returns the route as it
 * should be committed, or throws an `HttpError`. No I/O: the store reads the current route
 * and the last revision number, calls one of these, and commits the result atomically.
 *
 * Every result is checked by {@link checkInvariants}. A change that leaves the content
 * (versions, rules, defaultVersion) exactly as it is returns `changed: false` and the current
 * route untouched (same revision and timestamps): the caller commits nothing and answers 200.
 */
import {
  ConflictError,
  NotFoundError,
  RouteNotFoundError,
  ValidationError,
  type FieldError,
} from '../errors/http-errors.ts';
import {
  MAX_RULES,
  MAX_VERSIONS,
  type PatchVersionBody,
  type PutRouteBody,
  type PutVersionBody,
  type Route,
  type Rule,
  type Version,
} from './route.schema.ts';
import { checkUpstreamUrl, type UpstreamPolicy } from './upstream-url.ts';

/** Who is changing which route, when, and under which upstream policy. */
export interface ChangeContext {
  tenant: string;
  service: string;
  env: string;
  /** The token's `sub`: recorded as `updatedBy`. */
  actor: string;
  /** ISO 8601 timestamp of the change. */
  now: string;
  policy: UpstreamPolicy;
  /**
   * The highest revision ever committed for this (tenant, service, env), 0 if none. A route
   * deleted and created again continues from here, so a revision number names one change
   * forever (API.md, Writes).
   */
  lastRevision: number;
}

/** What a route's content is: the part a write changes and a no-op check compares. */
export type RouteContent = Pick<Route, 'versions' | 'rules' | 'defaultVersion'>;

export interface ChangeResult {
  /** The route to commit, or the current route unchanged when `changed` is false. */
  route: Route;
  /** False for a no-op: commit nothing, publish nothing, answer with `route`. */
  changed: boolean;
  /** True when there was no route before this change (`Route Created`, 201 on PUT). */
  created: boolean;
}

export interface VersionChangeResult extends ChangeResult {
  /** True when the version did not exist before (201 on version PUT). */
  versionCreated: boolean;
}

export interface DeleteResult {
  route: null;
  changed: true;
  /** The revision number of the delete's revision record. */
  revision: number;
  /** The route before the delete (the event's `previous`). */
  previous: Route;
}

/** A past revision to roll back to: its number and the route as it was (null if deleted). */
export interface RollbackTarget {
  revision: number;
  route: Route | null;
}

/** True when `a` and `b` have the same versions, rules and defaultVersion. */
export function sameContent(a: RouteContent, b: RouteContent): boolean {
  if (a.defaultVersion !== b.defaultVersion) return false;
  if (a.rules.length !== b.rules.length) return false;
  if (!a.rules.every((rule, index) => sameRule(rule, b.rules[index]))) return false;
  const names = Object.keys(a.versions);
  if (names.length !== Object.keys(b.versions).length) return false;
  return names.every((name) => sameVersion(a.versions[name], b.versions[name]));
}

function sameRule(a: Rule, b: Rule | undefined): boolean {
  return b !== undefined && a.header === b.header && a.equals === b.equals && a.version === b.version;
}

function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  return (
    a !== undefined && b !== undefined && a.url === b.url && a.weight === b.weight && a.state === b.state
  );
}

/**
 * Checks what must hold of every route that is committed: `defaultVersion` and every rule's
 * `version` name an existing version, every upstream URL passes the policy, and the limits.
 * Throws one 400 `ValidationError` listing every failing field.
 */
export function checkInvariants(route: RouteContent, policy: UpstreamPolicy): void {
  const errors: FieldError[] = [];
  const names = Object.keys(route.versions);
  if (names.length > MAX_VERSIONS) {
    errors.push({ path: 'versions', message: `at most ${MAX_VERSIONS} versions` });
  }
  if (route.rules.length > MAX_RULES) {
    errors.push({ path: 'rules', message: `at most ${MAX_RULES} rules` });
  }
  for (const name of names) {
    const url = route.versions[name]?.url ?? '';
    const problem = checkUpstreamUrl(url, policy);
    if (problem !== undefined) errors.push({ path: `versions.${name}.url`, message: problem });
  }
  if (route.defaultVersion !== undefined && !Object.hasOwn(route.versions, route.defaultVersion)) {
    errors.push({
      path: 'defaultVersion',
      message: `must name an existing version; there is no version '${route.defaultVersion}'`,
    });
  }
  route.rules.forEach((rule, index) => {
    if (!Object.hasOwn(route.versions, rule.version)) {
      errors.push({
        path: `rules.${index}.version`,
        message: `must name an existing version; there is no version '${rule.version}'`,
      });
    }
  });
  if (errors.length > 0) throw new ValidationError('Invalid route.', errors);
}

/** Checks `content`, then builds the route to commit, or reports a no-op. */
function commit(current: Route | undefined, content: RouteContent, ctx: ChangeContext): ChangeResult {
  checkInvariants(content, ctx.policy);
  if (current !== undefined && sameContent(current, content)) {
    return { route: current, changed: false, created: false };
  }
  const route: Route = {
    tenant: ctx.tenant,
    service: ctx.service,
    env: ctx.env,
    versions: content.versions,
    ...(content.defaultVersion === undefined ? {} : { defaultVersion: content.defaultVersion }),
    rules: content.rules,
    revision: Math.max(ctx.lastRevision, current?.revision ?? 0) + 1,
    createdAt: current?.createdAt ?? ctx.now,
    updatedAt: ctx.now,
    updatedBy: ctx.actor,
  };
  return { route, changed: true, created: current === undefined };
}

function copyVersions(versions: Route['versions']): Route['versions'] {
  return Object.fromEntries(
    Object.entries(versions).map(([name, version]) => [name, { ...version }]),
  );
}

function copyContent(content: RouteContent): RouteContent {
  return {
    versions: copyVersions(content.versions),
    rules: content.rules.map((rule) => ({ ...rule })),
    ...(content.defaultVersion === undefined ? {} : { defaultVersion: content.defaultVersion }),
  };
}

function versionNotFound(ctx: ChangeContext, name: string): NotFoundError {
  return new NotFoundError(`Route '${ctx.service}/${ctx.env}' has no version '${name}'.`);
}

/**
 * `PUT .../routes/{service}/{env}`: the route becomes exactly `body`. A body without
 * `defaultVersion` leaves the route without one (it is optional in the contract; resolve then
 * answers from rules and weights only), rather than keeping the old one.
 */
export function putRoute(
  current: Route | undefined,
  body: PutRouteBody,
  ctx: ChangeContext,
): ChangeResult {
  return commit(current, copyContent(body), ctx);
}

/**
 * `PUT .../versions/{name}`: creates or replaces one version. Creates the route if absent,
 * with this version as its `defaultVersion`; a route that exists but has no versions and no
 * `defaultVersion` (all deleted) gets it as its `defaultVersion` too, as if created again.
 */
export function putVersion(
  current: Route | undefined,
  name: string,
  body: PutVersionBody,
  ctx: ChangeContext,
): VersionChangeResult {
  const base: RouteContent = current === undefined ? { versions: {}, rules: [] } : copyContent(current);
  const versionCreated = !Object.hasOwn(base.versions, name);
  const empty = Object.keys(base.versions).length === 0 && base.defaultVersion === undefined;
  const content: RouteContent = {
    ...base,
    versions: { ...base.versions, [name]: { url: body.url, weight: body.weight, state: body.state } },
    ...(empty ? { defaultVersion: name } : {}),
  };
  return { ...commit(current, content, ctx), versionCreated };
}

/** `PATCH .../versions/{name}`: changes the given fields of one existing version. */
export function patchVersion(
  current: Route | undefined,
  name: string,
  body: PatchVersionBody,
  ctx: ChangeContext,
): ChangeResult {
  if (current === undefined) throw new RouteNotFoundError();
  const existing = Object.hasOwn(current.versions, name) ? current.versions[name] : undefined;
  if (existing === undefined) throw versionNotFound(ctx, name);
  const base = copyContent(current);
  const version: Version = {
    url: body.url ?? existing.url,
    weight: body.weight ?? existing.weight,
    state: body.state ?? existing.state,
  };
  return commit(current, { ...base, versions: { ...base.versions, [name]: version } }, ctx);
}

/**
 * `DELETE .../versions/{name}`: removes one version. 409 while `defaultVersion` names it or a
 * rule targets it (change those first); this holds for the last version too, so a route left
 * with no versions has no `defaultVersion`.
 */
export function deleteVersion(
  current: Route | undefined,
  name: string,
  ctx: ChangeContext,
): ChangeResult {
  if (current === undefined) throw new RouteNotFoundError();
  if (!Object.hasOwn(current.versions, name)) throw versionNotFound(ctx, name);
  const references: FieldError[] = [];
  if (current.defaultVersion === name) {
    references.push({ path: 'defaultVersion', message: `names version '${name}'` });
  }
  current.rules.forEach((rule, index) => {
    if (rule.version === name) {
      references.push({ path: `rules.${index}.version`, message: `targets version '${name}'` });
    }
  });
  if (references.length > 0) {
    throw new ConflictError(
      `Version '${name}' is still in use by the route; point defaultVersion and rules elsewhere first.`,
      { errors: references },
    );
  }
  const base = copyContent(current);
  const versions = Object.fromEntries(
    Object.entries(base.versions).filter(([versionName]) => versionName !== name),
  );
  return commit(current, { ...base, versions }, ctx);
}

/** `DELETE .../routes/{service}/{env}`: a final revision with no route. */
export function deleteRoute(current: Route | undefined, ctx: ChangeContext): DeleteResult {
  if (current === undefined) throw new RouteNotFoundError();
  return {
    route: null,
    changed: true,
    revision: Math.max(ctx.lastRevision, current.revision) + 1,
    previous: current,
  };
}

/**
 * `POST .../rollback`: a new revision whose content equals the target revision's. The store
 * answers 404 itself when the revision does not exist. A target that is a delete (no route)
 * is 409: the request is well-formed but the history holds nothing to restore there; delete
 * the route to get that state. Rolling back a deleted route to an earlier revision creates it
 * again (`created: true`). The result passes the invariants under today's policy, so a URL
 * the policy has since refused is a 400.
 */
export function rollback(
  current: Route | undefined,
  target: RollbackTarget,
  ctx: ChangeContext,
): ChangeResult {
  if (target.route === null) {
    throw new ConflictError(
      `Revision ${target.revision} deleted the route; there is no content to roll back to.`,
      { errors: [{ path: 'revision', message: 'names a delete' }] },
    );
  }
  return commit(current, copyContent(target.route), ctx);
}
