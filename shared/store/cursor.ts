/**
 * Opaque pagination cursors: a DynamoDB `LastEvaluatedKey` together with the scope (the
 * partition being read, such as the tenant partition `T#acme#TENANT` or a route's `PK`) it was issued for, as
 * base64url JSON.
 *
 * A cursor is not signed: it is checked. Decoding refuses, with a 400 naming `query.cursor`,
 * anything that is not exactly what {@link encodeCursor} produces for the scope being read,
 * and any key whose partition values lie outside the scope's tenant. So a cursor edited by
 * hand can at most move the caller within their own tenant's listing, never into another
 * tenant's items (and the store also checks the key against the partition it queries).
 */
import * as z from '../zod.ts';
import { ValidationError } from '../errors/http-errors.ts';
import { attr } from './route-keys.ts';

/** A DynamoDB key as the document client returns it: attribute name to string or number. */
type CursorKey = Record<string, string | number>;

/** Longest cursor accepted; matches the `cursor` query parameter's schema. */
export const MAX_CURSOR_LENGTH = 2048;

const KEY_ATTRIBUTES: readonly string[] = Object.values(attr);
const PARTITION_ATTRIBUTES: readonly string[] = [attr.pk, attr.gsi1pk];

const CursorPayloadSchema = z.strictObject({
  /** The scope the cursor was issued for. */
  s: z.string().check(z.minLength(1)),
  /** The key to start after. */
  k: z
    .record(z.string(), z.union([z.string(), z.number()]))
    .check(
      z.refine((key) => Object.keys(key).length > 0, 'empty key'),
      z.refine((key) => Object.keys(key).every((name) => KEY_ATTRIBUTES.includes(name)), 'unknown key'),
    ),
});

/** `T#<tenant>#` of a scope such as `T#acme#TENANT` or `T#acme#R#checkout#prod`. */
function tenantPrefix(scope: string): string {
  const match = /^T#[^#]+#/.exec(scope);
  if (match === null) throw new Error(`Not a tenant scope: ${scope}`);
  return match[0];
}

/** A JSON.parse reviver: a `__proto__` member would reach the key object's prototype. */
function refuseProtoKeys(name: string, value: unknown): unknown {
  if (name === '__proto__') throw new SyntaxError('__proto__ member');
  return value;
}

function invalidCursor(message: string, cause?: unknown): ValidationError {
  return new ValidationError('Invalid cursor.', [{ path: 'query.cursor', message }], { cause });
}

function keyWithinTenant(key: CursorKey, prefix: string): boolean {
  const partitions = PARTITION_ATTRIBUTES.filter((name) => Object.hasOwn(key, name));
  return (
    partitions.length > 0 &&
    partitions.every((name) => {
      const value = key[name];
      return typeof value === 'string' && value.startsWith(prefix);
    })
  );
}

/**
 * Encodes the key to continue after as a cursor bound to `scope`.
 *
 * @param scope the partition being read; starts with `T#<tenant>#`.
 * @param lastEvaluatedKey the query's `LastEvaluatedKey`.
 */
export function encodeCursor(scope: string, lastEvaluatedKey: CursorKey): string {
  tenantPrefix(scope);
  return Buffer.from(JSON.stringify({ s: scope, k: lastEvaluatedKey }), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor issued by {@link encodeCursor} for `scope`.
 *
 * @returns the key to pass as `ExclusiveStartKey`.
 * @throws ValidationError (400, `query.cursor`) if the cursor is malformed, not base64url
 *   JSON of the expected shape, issued for another scope, or holds a key outside the tenant.
 */
export function decodeCursor(scope: string, cursor: string): CursorKey {
  const prefix = tenantPrefix(scope);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalidCursor('must be a cursor returned by a previous page');
  }
  const bytes = Buffer.from(cursor, 'base64url');
  // Buffer decoding is lenient; only the canonical encoding of some bytes is a cursor.
  if (bytes.toString('base64url') !== cursor) {
    throw invalidCursor('must be a cursor returned by a previous page');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes), refuseProtoKeys);
  } catch (error) {
    throw invalidCursor('must be a cursor returned by a previous page', error);
  }
  const payload = CursorPayloadSchema.safeParse(json);
  if (!payload.success) {
    throw invalidCursor('must be a cursor returned by a previous page', payload.error);
  }
  if (payload.data.s !== scope || !keyWithinTenant(payload.data.k, prefix)) {
    throw invalidCursor('belongs to another listing');
  }
  return payload.data.k;
}
