import { HttpError, ValidationError } from '#shared/errors/http-errors';
import { MAX_CURSOR_LENGTH, decodeCursor, encodeCursor } from '#shared/store/cursor';

const routesScope = 'T#acme#ROUTES';
const routeScope = 'T#acme#R#checkout#prod';
const listKey = { PK: 'T#acme#R#checkout#prod', SK: 'ROUTE', GSI1PK: 'T#acme#ROUTES', GSI1SK: 'checkout#prod' };
const revisionKey = { PK: 'T#acme#R#checkout#prod', SK: 'REV#0000000007' };

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

function decodeError(scope: string, cursor: string): HttpError {
  try {
    decodeCursor(scope, cursor);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected decodeCursor to throw');
}

describe('encodeCursor and decodeCursor', () => {
  it('round-trips a GSI key', () => {
    const cursor = encodeCursor(routesScope, listKey);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(routesScope, cursor)).toEqual(listKey);
  });

  it('round-trips a base-table key with a numeric value', () => {
    const key = { ...revisionKey, SK: 7 };
    expect(decodeCursor(routeScope, encodeCursor(routeScope, key))).toEqual(key);
  });

  it('round-trips an audit key with non-ASCII content', () => {
    const scope = 'T#acme#AUDIT';
    const key = { PK: 'T#acme#R#a#b', SK: 'REV#0000000001', GSI1PK: scope, GSI1SK: '2026-11-27T10:00:00.000Z#a#b#é' };
    expect(decodeCursor(scope, encodeCursor(scope, key))).toEqual(key);
  });

  it('does not show the key in plain text', () => {
    expect(encodeCursor(routesScope, listKey)).not.toContain('acme');
  });

  it('refuses to encode for a scope that names no tenant', () => {
    expect(() => encodeCursor('ROUTES', listKey)).toThrow('Not a tenant scope');
  });
});

describe('decodeCursor refuses', () => {
  const valid = encodeCursor(routesScope, listKey);

  it.each<[string, string]>([
    ['an empty string', ''],
    ['a too long string', 'A'.repeat(MAX_CURSOR_LENGTH + 1)],
    ['standard base64 padding', `${valid}==`],
    ['standard base64 alphabet', b64('{"s":"T#acme#ROUTES"}').replace(/-/g, '+') + '+/'],
    ['whitespace', ` ${valid}`],
    ['a non-canonical encoding', 'ab'],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')],
    ['text that is not JSON', b64('not json')],
    ['JSON null', b64('null')],
    ['a JSON array', b64([routesScope, listKey])],
    ['a JSON string', b64('"T#acme#ROUTES"')],
    ['a payload without key', b64({ s: routesScope })],
    ['a payload without scope', b64({ k: listKey })],
    ['an empty key', b64({ s: routesScope, k: {} })],
    ['an extra field', b64({ s: routesScope, k: listKey, x: 1 })],
    ['a key with an object value', b64({ s: routesScope, k: { ...listKey, SK: { S: 'ROUTE' } } })],
    ['a key with a boolean value', b64({ s: routesScope, k: { ...listKey, SK: true } })],
    ['a key with an unknown attribute', b64({ s: routesScope, k: { ...listKey, secret: 'x' } })],
    ['a key with a __proto__ attribute', b64(`{"s":"${routesScope}","k":{"__proto__":{"PK":"x"},"PK":"T#acme#ROUTES"}}`)],
  ])('%s as malformed', (_, cursor) => {
    const error = decodeError(routesScope, cursor);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'query.cursor', message: 'must be a cursor returned by a previous page' }]);
  });

  it.each<[string, string, string]>([
    ['issued for another tenant', 'T#acme#ROUTES', encodeCursor('T#evil#ROUTES', { ...listKey, GSI1PK: 'T#evil#ROUTES' })],
    ['issued for another listing of the tenant', routesScope, encodeCursor('T#acme#AUDIT', listKey)],
    ['issued for another route', routeScope, encodeCursor('T#acme#R#checkout#dev', revisionKey)],
    ['whose scope was edited to this one but key points at another tenant', routesScope, b64({ s: routesScope, k: { ...listKey, GSI1PK: 'T#evil#ROUTES' } })],
    ['whose PK points at another tenant', routesScope, b64({ s: routesScope, k: { ...listKey, PK: 'T#evil#R#checkout#prod' } })],
    ['whose PK is a prefix trick', routesScope, b64({ s: routesScope, k: { ...listKey, PK: 'T#acme-evil#R#a#b' } })],
    ['whose key has no partition attribute', routesScope, b64({ s: routesScope, k: { SK: 'ROUTE', GSI1SK: 'checkout#prod' } })],
    ['whose PK is a number', routeScope, b64({ s: routeScope, k: { PK: 1, SK: 'REV#1' } })],
  ])('a cursor %s', (_, scope, cursor) => {
    const error = decodeError(scope, cursor);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'query.cursor', message: 'belongs to another listing' }]);
  });

  it('with a programming error when the expected scope names no tenant', () => {
    expect(() => decodeCursor('whatever', valid)).toThrow('Not a tenant scope');
  });
});
