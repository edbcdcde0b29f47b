/** The conditional-request headers of writes and the snapshot's If-None-Match. */
import { PreconditionFailedError, ValidationError } from '#shared/errors/http-errors';
import { etagMatches, preconditionsOf, routeEtag } from '#shared/http/preconditions';

function refusal(headers: Record<string, string | undefined>): ValidationError {
  try {
    preconditionsOf(headers);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(headers)} to be refused`);
}

describe('routeEtag', () => {
  it('quotes the revision as a strong entity tag', () => {
    expect(routeEtag(1)).toBe('"1"');
    expect(routeEtag(7)).toBe('"7"');
    expect(routeEtag(123456)).toBe('"123456"');
  });

  it('round-trips through If-Match', () => {
    for (const revision of [1, 9, 10, 42, 999_999_999_999_999]) {
      expect(preconditionsOf({ 'if-match': routeEtag(revision) })).toEqual({ ifMatch: revision });
    }
  });
});

describe('preconditionsOf', () => {
  it('returns no preconditions when neither header is sent', () => {
    expect(preconditionsOf({})).toEqual({});
    expect(preconditionsOf({ 'content-type': 'application/json' })).toEqual({});
  });

  it('ignores empty and blank headers', () => {
    expect(preconditionsOf({ 'if-match': '', 'if-none-match': '' })).toEqual({});
    expect(preconditionsOf({ 'if-match': '   ', 'if-none-match': ' ' })).toEqual({});
    expect(preconditionsOf({ 'if-match': undefined })).toEqual({});
  });

  it('reads If-Match: "<revision>" as the revision the caller saw', () => {
    expect(preconditionsOf({ 'if-match': '"3"' })).toEqual({ ifMatch: 3 });
    expect(preconditionsOf({ 'if-match': '  "12"  ' })).toEqual({ ifMatch: 12 });
  });

  it('reads If-Match: * as "the route must exist"', () => {
    expect(preconditionsOf({ 'if-match': '*' })).toEqual({ mustExist: true });
  });

  it('reads If-None-Match: * as create only', () => {
    expect(preconditionsOf({ 'if-none-match': '*' })).toEqual({ createOnly: true });
    expect(preconditionsOf({ 'if-none-match': ' * ' })).toEqual({ createOnly: true });
  });

  it('reads both headers together', () => {
    expect(preconditionsOf({ 'if-match': '"2"', 'if-none-match': '*' })).toEqual({ ifMatch: 2, createOnly: true });
  });

  it('reads only lower-cased names (the header normaliser runs first)', () => {
    expect(preconditionsOf({ 'If-Match': '"abc"' })).toEqual({});
  });

  it.each([
    ['an unquoted revision', '3'],
    ['a non-numeric tag', '"abc"'],
    ['revision 0', '"0"'],
    ['a leading zero', '"07"'],
    ['a negative revision', '"-1"'],
    ['a fractional revision', '"1.5"'],
    ['an exponent', '"1e3"'],
    ['a revision of 16 digits', '"1234567890123456"'],
    ['an unterminated quote', '"3'],
    ['single quotes', "'3'"],
    ['a list of tags', '"1", "2"'],
    ['a lone weak prefix', 'W/'],
    ['a lower-case weak prefix', 'w/"3"'],
    ['a tag with inner spaces', '" 3 "'],
    ['a snapshot-style digest', '"q2t9Xv_abc"'],
  ])('refuses If-Match with %s, naming header.if-match', (_name, value) => {
    const error = refusal({ 'if-match': value });
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'header.if-match', message: expect.any(String) }]);
  });

  it.each([
    ['an entity tag', '"3"'],
    ['a weak tag', 'W/"3"'],
    ['a list', '"1", "2"'],
    ['a star in a list', '*, "1"'],
  ])('refuses If-None-Match with %s on a write, naming header.if-none-match', (_name, value) => {
    const error = refusal({ 'if-none-match': value });
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: 'header.if-none-match', message: expect.any(String) }]);
  });

  it('answers a weak If-Match tag with 412: If-Match compares strongly (RFC 9110)', () => {
    expect(() => preconditionsOf({ 'if-match': 'W/"3"' })).toThrow(PreconditionFailedError);
  });

  it('checks If-Match before If-None-Match', () => {
    expect(refusal({ 'if-match': 'nope', 'if-none-match': 'nope' }).errors?.[0]?.path).toBe('header.if-match');
  });
});

describe('etagMatches', () => {
  const etag = '"Yx3kQ0"';

  it('does not match when If-None-Match is absent', () => {
    expect(etagMatches(undefined, etag)).toBe(false);
  });

  it('does not match an empty header', () => {
    expect(etagMatches('', etag)).toBe(false);
  });

  it('matches the same tag', () => {
    expect(etagMatches('"Yx3kQ0"', etag)).toBe(true);
    expect(etagMatches('  "Yx3kQ0"  ', etag)).toBe(true);
  });

  it('matches * whatever the tag', () => {
    expect(etagMatches('*', etag)).toBe(true);
    expect(etagMatches(' * ', etag)).toBe(true);
  });

  it('matches any tag of a list', () => {
    expect(etagMatches('"a", "Yx3kQ0", "b"', etag)).toBe(true);
    expect(etagMatches('"a","Yx3kQ0"', etag)).toBe(true);
    expect(etagMatches('"a", "b"', etag)).toBe(false);
  });

  it('compares weakly, as If-None-Match does (RFC 9110)', () => {
    expect(etagMatches('W/"Yx3kQ0"', etag)).toBe(true);
    expect(etagMatches('"Yx3kQ0"', 'W/"Yx3kQ0"')).toBe(true);
    expect(etagMatches('W/"other"', etag)).toBe(false);
  });

  it('does not match a different, prefixed or unquoted tag', () => {
    expect(etagMatches('"Yx3kQ"', etag)).toBe(false);
    expect(etagMatches('"Yx3kQ01"', etag)).toBe(false);
    expect(etagMatches('Yx3kQ0', etag)).toBe(false);
    expect(etagMatches('"yx3kq0"', etag)).toBe(false);
  });

  it('matches route ETags by revision', () => {
    expect(etagMatches(routeEtag(7), routeEtag(7))).toBe(true);
    expect(etagMatches(routeEtag(7), routeEtag(8))).toBe(false);
  });
});
