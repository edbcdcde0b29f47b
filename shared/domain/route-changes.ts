/**
 * The route registry's changes as pure functions of the route's content: each takes the
 * route as it is (or `undefined` when there is none) and returns the content it should
 * have, or throws an `HttpError`. No I/O and no metadata: the one write path
 * (shared/store/commit-change.ts) reads the current route, applies a change, checks the
 * invariants ({@link checkInvariants}), stamps revision, sequence and metadata, and commits.
 *
 * A change that leaves the content (versions, rules, defaultVersion) exactly as it is
 * returns `changed: false`: the write path commits nothing and answers 200.
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
  type ChangeKind,
  type PatchVersionBody,
  type PutRouteBody,
  type PutVersionBody,
  type Route,
  type Rule,
  type Version,
} from './route.schema.ts';
import { checkUpstreamUrl, type UpstreamPolicy } from './upstream-url.ts';

/** What a route's content is: the part a write changes and a no-op check compares. */
export type RouteContent = Pick<Route, 'versions' | 'rules' | 'defaultVersion'>;

/** What a change decides from the current route. */
export interface ContentChange {
  /** The content to commit; null deletes the route. */
  next: RouteContent | null;
  /** False for a no-op: commit nothing, publish nothing, answer with the current route. */
  changed: boolean;
}

/**
 * Whether writing version `name` onto `before` (the route before the write, undefined when
 * absent) adds it: a version PUT that does answers 201. Decided from the route before, so
 * that a write whose commit is only learned later (a lost answer) decides it the same way.
 */
export function addsVersion(before: RouteContent | undefined, name: string): boolean {
  return !Object.hasOwn(before?.versions ?? {}, name);
}

/**
 * One change as the write path (shared/store/commit-change.ts) takes it: its kind, and a
 * pure function from the current route (undefined when there is none) to the next content.
 * `apply` may run more than once when writers race, and throws an `HttpError` (404, 409)
 * when the change cannot apply.
 */
export interface RouteChange {
  kind: ChangeKind;
  apply: (current: Route | undefined) => ContentChange;
  /**
   * Where the request body sits in the route, for a change that writes one version:
   * `versions.v3`. Field errors found in it are then named as the body names them (`url`).
   */
  bodyPath?: string;
}

/** A past revision to roll back to: its number and the route as it was (null if deleted). */
interface RollbackTarget {
  revision: number;
  route: Route | null;
}

/** A change to `content`: a no-op when the route already holds exactly that. */
function changeTo(current: Route | undefined, content: RouteContent): ContentChange {
  return { next: content, changed: current === undefined || !sameContent(current, content) };
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
export function checkInvariants(route: RouteContent, policy: UpstreamPolicy, bodyPath?: string): void {
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
  if (errors.length > 0) throw new ValidationError('Invalid route.', errors.map((error) => relativeTo(bodyPath, error)));
}

/** A field error named from the request body's point of view (`versions.v3.url` → `url`). */
function relativeTo(bodyPath: string | undefined, error: FieldError): FieldError {
  if (bodyPath === undefined || !error.path.startsWith(`${bodyPath}.`)) return error;
  return { ...error, path: error.path.slice(bodyPath.length + 1) };
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

function versionNotFound(current: Route, name: string): NotFoundError {
  return new NotFoundError(`Route '${current.service}/${current.env}' has no version '${name}'.`);
}

/**
 * `PUT .../routes/{service}/{env}`: the route becomes exactly `body`. A body without
 * `defaultVersion` leaves the route without one (it is optional in the contract; resolve then
 * answers from rules and weights only), rather than keeping the old one.
 */
export function putRoute(body: PutRouteBody): RouteChange {
  return { kind: 'route.put', apply: (current) => changeTo(current, copyContent(body)) };
}

/**
 * `PUT .../versions/{name}`: creates or replaces one version. Creates the route if absent,
 * with this version as its `defaultVersion`; a route that exists but has no versions and no
 * `defaultVersion` (all deleted) gets it as its `defaultVersion` too, as if created again.
 */
export function putVersion(name: string, body: PutVersionBody): RouteChange {
  return {
    kind: 'version.put',
    bodyPath: `versions.${name}`,
    apply: (current) => {
      const base: RouteContent = current === undefined ? { versions: {}, rules: [] } : copyContent(current);
      const empty = Object.keys(base.versions).length === 0 && base.defaultVersion === undefined;
      const content: RouteContent = {
        ...base,
        versions: { ...base.versions, [name]: { url: body.url, weight: body.weight, state: body.state } },
        ...(empty ? { defaultVersion: name } : {}),
      };
      return changeTo(current, content);
    },
  };
}

/** `PATCH .../versions/{name}`: changes the given fields of one existing version. */
export function patchVersion(name: string, body: PatchVersionBody): RouteChange {
  return {
    kind: 'version.patch',
    bodyPath: `versions.${name}`,
    apply: (current) => {
      if (current === undefined) throw new RouteNotFoundError();
      const existing = Object.hasOwn(current.versions, name) ? current.versions[name] : undefined;
      if (existing === undefined) throw versionNotFound(current, name);
      const base = copyContent(current);
      const version: Version = {
        url: body.url ?? existing.url,
        weight: body.weight ?? existing.weight,
        state: body.state ?? existing.state,
      };
      return changeTo(current, { ...base, versions: { ...base.versions, [name]: version } });
    },
  };
}

/**
 * `DELETE .../versions/{name}`: removes one version. 409 while `defaultVersion` names it or a
 * rule targets it (change those first); this holds for the last version too, so a route left
 * with no versions has no `defaultVersion`.
 */
export function deleteVersion(name: string): RouteChange {
  return {
    kind: 'version.delete',
    apply: (current) => {
      if (current === undefined) throw new RouteNotFoundError();
      if (!Object.hasOwn(current.versions, name)) throw versionNotFound(current, name);
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
      return changeTo(current, { ...base, versions });
    },
  };
}

/** `DELETE .../routes/{service}/{env}`: a final revision with no route. */
export function deleteRoute(): RouteChange {
  return {
    kind: 'route.delete',
    apply: (current) => {
      if (current === undefined) throw new RouteNotFoundError();
      return { next: null, changed: true };
    },
  };
}

/**
 * `POST .../rollback`: a new revision whose content equals the target revision's (the
 * caller reads it first and answers 404 when it does not exist). A target that is a delete
 * (no route) is 409: the request is well-formed but the history holds nothing to restore
 * there; delete the route to get that state. Rolling back a deleted route to an earlier
 * revision creates it again. The result passes the invariants under today's policy, so a URL
 * the policy has since refused is a 400.
 */
export function rollback(target: RollbackTarget): RouteChange {
  return {
    kind: 'rollback',
    apply: (current) => {
      if (target.route === null) {
        throw new ConflictError(
          `Revision ${target.revision} deleted the route; there is no content to roll back to.`,
          { errors: [{ path: 'revision', message: 'names a delete' }] },
        );
      }
      return changeTo(current, copyContent(target.route));
    },
  };
}
