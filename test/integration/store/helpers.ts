/** Builders shared by the store's integration tests: unique tenants, write contexts and simple changes. */
import { randomUUID } from 'node:crypto';
import { deleteRoute, putRoute, putVersion, type RouteChange } from '#shared/domain/route-changes';
import type { Version } from '#shared/domain/route.schema';
import { commitChange, type CommitResult, type WriteContext } from '#shared/store/commit-change';
import type { RouteKey } from '#shared/store/route.store';

/** A tenant no other test uses. */
export function uniqueTenant(): string {
  return `t-${randomUUID().slice(0, 12)}`;
}

export function routeKey(tenant: string, service = 'checkout', env = 'prod'): RouteKey {
  return { tenant, service, env };
}

export function version(name: string, weight = 100): Version {
  return { url: `https://${name}.example.com`, weight, state: 'active' };
}

/**
 * A write context as a handler builds one: a fresh server-issued request id, no
 * preconditions, and a deadline far enough out that only the attempt bound ends a retry loop.
 */
export function writeContext(key: RouteKey, overrides: Partial<WriteContext> = {}): WriteContext {
  return {
    key,
    actor: 'tester',
    requestId: randomUUID(),
    preconditions: {},
    deadline: Date.now() + 30_000,
    ...overrides,
  };
}

/** Commits `change` to `key` with a fresh write context (`overrides` on top). */
export function commit(key: RouteKey, change: RouteChange, overrides: Partial<WriteContext> = {}): Promise<CommitResult> {
  return commitChange(writeContext(key, overrides), change);
}

/** A whole-route PUT of `versions`, the first one the default. */
export function putVersions(versions: Record<string, Version>): RouteChange {
  return putRoute({ versions, defaultVersion: Object.keys(versions)[0], rules: [] });
}

/** A version PUT that adds (or replaces) version `name`. */
export function addVersion(name: string): RouteChange {
  return putVersion(name, version(name));
}

/** A route DELETE. */
export function deleteIt(): RouteChange {
  return deleteRoute();
}

/** Awaits every promise, and returns how each settled. */
export async function settle<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(promises);
}
