/**
 * The route rules that are plain values, with no zod: the schemas (./route.schema.ts,
 * ../http/endpoints.ts), the snapshot and the client library (client/, which has no runtime
 * dependency and runs this source as it is) read the same ones.
 */

/** Tenant, service and env names. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Version names. */
export const VERSION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** A version's weight is 0..MAX_WEIGHT (weights are relative). */
export const MAX_WEIGHT = 10_000;
/** Resolve's sticky `key`: 1..MAX_RESOLVE_KEY_LENGTH characters. */
export const MAX_RESOLVE_KEY_LENGTH = 256;

/** A tenant snapshot's ETag: the tenant sequence it is at, quoted. */
export function snapshotEtag(seq: number): string {
  return `"${seq}"`;
}
