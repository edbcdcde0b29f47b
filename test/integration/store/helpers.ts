/** Builders shared by the store's integration tests: unique tenants and simple changes. */
import { randomUUID } from 'node:crypto';
import type { Route, Version } from '#shared/domain/route.schema';
import type { RouteKey } from '#shared/store/route.store';
import type { ApplyOutcome } from '#shared/store/write-route';

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

/** A route body; the store stamps tenant, service, env, revision and times. */
export function routeWith(key: RouteKey, versions: Record<string, Version>, defaultVersion?: string): Route {
  return {
    ...key,
    versions,
    ...(defaultVersion === undefined ? {} : { defaultVersion }),
    rules: [],
    revision: 1,
    createdAt: '2000-01-01T00:00:00.000Z',
    updatedAt: '2000-01-01T00:00:00.000Z',
    updatedBy: 'nobody',
  };
}

/** `apply` for a whole-route PUT: changed unless the versions are the same. */
export function putVersions(key: RouteKey, versions: Record<string, Version>) {
  return (current: Route | undefined): ApplyOutcome => ({
    next: routeWith(key, versions, Object.keys(versions)[0]),
    changed: current === undefined || JSON.stringify(current.versions) !== JSON.stringify(versions),
  });
}

/** `apply` that adds (or replaces) one version on the current route. */
export function addVersion(key: RouteKey, name: string) {
  return (current: Route | undefined): ApplyOutcome => ({
    next: routeWith(key, { ...current?.versions, [name]: version(name) }, current?.defaultVersion ?? name),
    changed: true,
  });
}

/** `apply` for a route DELETE. */
export function deleteIt(current: Route | undefined): ApplyOutcome {
  if (current === undefined) throw new Error('nothing to delete');
  return { next: null, changed: true };
}

/** Awaits every promise, and returns how each settled. */
export async function settle<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(promises);
}
