/**
 * Conditional-request headers (API.md, Optimistic concurrency): parsed here, from HTTP;
 * checked by the one write path (shared/store/commit-change.ts) against the route it reads.
 * `If-Match: "<revision>"` (or `*`, "the route must exist") and `If-None-Match: *` (create
 * only) on writes; `If-None-Match` entity tags on reads.
 */
import { PreconditionFailedError, ValidationError } from '../errors/http-errors.ts';
import type { Preconditions } from '../store/commit-change.ts';

const revisionTag = /^(W\/)?"([1-9]\d{0,14})"$/;

/** Reads the preconditions from lower-cased request headers; 400 for a malformed one. */
export function preconditionsOf(headers: Readonly<Record<string, string | undefined>>): Preconditions {
  const preconditions: Preconditions = {};
  const ifMatch = headers['if-match']?.trim();
  if (ifMatch !== undefined && ifMatch !== '') {
    if (ifMatch === '*') {
      preconditions.mustExist = true;
    } else {
      const match = revisionTag.exec(ifMatch);
      if (match?.[2] === undefined) {
        throw new ValidationError('Invalid If-Match header.', [
          { path: 'header.if-match', message: 'must be "<revision>" as returned in ETag, or *' },
        ]);
      }
      // If-Match uses strong comparison (RFC 9110 13.1.1): a weak tag never matches.
      if (match[1] !== undefined) throw new PreconditionFailedError('If-Match needs a strong entity tag.');
      preconditions.ifMatch = Number(match[2]);
    }
  }
  const ifNoneMatch = headers['if-none-match']?.trim();
  if (ifNoneMatch !== undefined && ifNoneMatch !== '') {
    if (ifNoneMatch !== '*') {
      throw new ValidationError('Invalid If-None-Match header.', [
        { path: 'header.if-none-match', message: 'only * is supported on writes' },
      ]);
    }
    preconditions.createOnly = true;
  }
  return preconditions;
}

/** The entity tag of a route at a revision: `"7"`. */
export const routeEtag = (revision: number): string => `"${revision}"`;

/** Does an `If-None-Match` header on a read match `etag`? (`*`, a list, weak tags.) */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const strip = (tag: string): string => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || strip(tag) === strip(etag));
}
