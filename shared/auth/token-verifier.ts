/**
 * Bearer-token verification with jose, independent of where the keys come from: the
 * authorizer (./authorizer.ts) builds one verifier per execution environment from config.
 *
 * Every refusal is an `UnauthorizedError` whose `cause` carries the real reason for the log
 * (the error mapper logs it); the caller only learns that a valid bearer token is required.
 * No cause ever contains the token itself.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import * as z from '../zod.ts';
import type { authEnv } from '../config.ts';
import { SlugSchema } from '../domain/route.schema.ts';
import { ConfigError, UnauthorizedError } from '../errors/http-errors.ts';
import type { Scope } from '../http/endpoints.ts';
import type { Principal } from './principal.ts';

/** The scopes this service understands (API.md, Auth). */
export const knownScopes = ['routes:read', 'routes:write', 'resolve', 'audit:read'] as const satisfies readonly Scope[];

/** At most 60 s of clock skew on `exp`, `nbf` and `iat` (API.md, Auth). */
export const clockToleranceSeconds = 60;

/** A JWT longer than this is refused before any parsing or cryptography. */
const maxTokenLength = 8192;

/** `Bearer <token>`: scheme case-insensitive (RFC 9110), token in RFC 6750 b64token form. */
const bearerPattern = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

const knownScopeSet: ReadonlySet<string> = new Set(knownScopes);

function isKnownScope(scope: string): scope is Scope {
  return knownScopeSet.has(scope);
}

/**
 * The claims this service reads, beyond the registered ones that jose checks.
 *
 * - `sub`: the actor recorded in revisions and audit; non-empty, at most 256 characters.
 * - `tenant`: one tenant slug, or `*` for an operator.
 * - `scope`: space-separated (RFC 8693 style). Scopes this service does not know are
 *   **ignored**, not refused: identity providers routinely add their own (`openid`,
 *   `offline_access`), and ignoring them grants nothing. A token left with no known scope is
 *   still authenticated, and gets 403 from `authorize` on every endpoint.
 */
const TokenClaimsSchema = z.object({
  sub: z.string().check(z.minLength(1), z.maxLength(256)),
  tenant: z.union([z.literal('*'), SlugSchema]),
  scope: z.string().check(z.maxLength(2048)),
});

/** The `Principal` a verified payload stands for; throws a `ZodError` on bad claims. */
export function principalFromClaims(payload: JWTPayload): Principal {
  const claims = TokenClaimsSchema.parse(payload);
  const scopes = new Set<Scope>(claims.scope.split(' ').filter(isKnownScope));
  return { sub: claims.sub, tenant: claims.tenant, scopes };
}

/** The bearer token of an `Authorization` header; throws `UnauthorizedError`. */
export function bearerTokenOf(authorizationHeader: string | undefined): string {
  if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
    throw new UnauthorizedError({ cause: new Error('no Authorization header') });
  }
  if (authorizationHeader.length > maxTokenLength + 16) {
    throw new UnauthorizedError({ cause: new Error('Authorization header too long') });
  }
  const token = bearerPattern.exec(authorizationHeader)?.[1];
  if (token === undefined) {
    // Never echo the header: it may hold a credential of another scheme.
    throw new UnauthorizedError({ cause: new Error('Authorization header is not "Bearer <token>"') });
  }
  return token;
}

interface TokenVerifierOptions {
  /** Where verification keys come from: jose's remote or local JWKS, picked by `kid`. */
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** The allow-list of JWS algorithms: asymmetric only (config refuses `none` and HS*). */
  algorithms: readonly string[];
  /** Milliseconds since the epoch, for every time check and the cache. @default Date.now */
  now?: () => number;
  /**
   * The cache of verified tokens; `false` turns it off.
   * @default { maxEntries: 1000, maxAgeMs: 300000 }
   */
  cache?: TokenCacheOptions | false;
}

interface TokenCacheOptions {
  /** Most tokens remembered; the least recently used is forgotten first. */
  maxEntries: number;
  /** Longest a verification is reused, whatever the token's `exp`. */
  maxAgeMs: number;
}

const defaultTokenCache: TokenCacheOptions = { maxEntries: 1000, maxAgeMs: 300_000 };

interface CachedPrincipal {
  principal: Principal;
  /** Reused from this time on (the token's `nbf` less the skew, or at once). */
  validFrom: number;
  /** Reused until this time: the earlier of the token's `exp` and verification + maxAgeMs. */
  validUntil: number;
}

/** The parsed `authEnv` section of shared/config.ts. */
type AuthConfig = Readonly<z.infer<z.ZodMiniObject<typeof authEnv>>>;

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The verification keys that `config` names; exactly one source must be set.
 * - `AUTH_JWKS_URL`: jose's remote JWKS. Call this once per execution environment and keep
 *   the result: it caches the set across invocations, refetches it when a token names an
 *   unknown `kid` (at most once per 30 s cooldown, so a key rotated in at the identity
 *   provider is accepted without a cold start) and after 10 minutes. https only, except on
 *   loopback (tests).
 * - `AUTH_PUBLIC_JWK`: that one key, as a local JWKS.
 */
export function keysFromConfig(config: Pick<AuthConfig, 'AUTH_JWKS_URL' | 'AUTH_PUBLIC_JWK'>): JWTVerifyGetKey {
  const { AUTH_JWKS_URL: jwksUrl, AUTH_PUBLIC_JWK: publicJwk } = config;
  if ((jwksUrl === undefined) === (publicJwk === undefined)) {
    throw new ConfigError('Invalid configuration: set exactly one of AUTH_JWKS_URL and AUTH_PUBLIC_JWK');
  }
  if (jwksUrl !== undefined) {
    const url = new URL(jwksUrl);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHosts.has(url.hostname))) {
      throw new ConfigError('Invalid configuration: AUTH_JWKS_URL must be https (http only on loopback)');
    }
    return createRemoteJWKSet(url);
  }
  // authEnv has checked that this is a public RSA, EC or OKP key.
  return createLocalJWKSet({ keys: [publicJwk as JWK] });
}

export type TokenVerifier = (authorizationHeader: string | undefined) => Promise<Principal>;

/**
 * Builds the function that turns an `Authorization` header into a `Principal`: signature
 * with an allowed algorithm, `iss`, `aud`, `exp` (required), `nbf` and `iat` with 60 s of
 * skew (an `iat` further in the future is refused: jose checks it only with `maxTokenAge`),
 * unknown `crit` header parameters refused (jose's default), then the claims above.
 *
 * Verifications are cached (ES256 verification was two thirds of a warm resolve): keyed by
 * the SHA-256 of the token, so no token is kept in memory; reused no later than the token's
 * `exp` (without the skew) and no longer than `maxAgeMs` after it was verified, never before
 * its `nbf` less the skew; refusals are never cached. A key removed from the JWKS therefore
 * keeps accepting the tokens it signed for at most `maxAgeMs`.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const now = options.now ?? Date.now;
  const cacheOptions = options.cache === undefined ? defaultTokenCache : options.cache;
  const cache = new Map<string, CachedPrincipal>();
  const baseOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: [...options.algorithms],
    clockTolerance: clockToleranceSeconds,
    requiredClaims: ['exp', 'sub'],
  };

  const remember = (id: string, payload: JWTPayload, principal: Principal, at: number): void => {
    if (cacheOptions === false || payload.exp === undefined) return;
    const validUntil = Math.min(payload.exp * 1000, at + cacheOptions.maxAgeMs);
    if (validUntil <= at) return;
    const validFrom = payload.nbf === undefined ? 0 : (payload.nbf - clockToleranceSeconds) * 1000;
    cache.set(id, { principal, validFrom, validUntil });
    while (cache.size > cacheOptions.maxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done === true) break;
      cache.delete(oldest.value);
    }
  };

  return async (authorizationHeader) => {
    const token = bearerTokenOf(authorizationHeader);
    const at = now();
    const id = cacheOptions === false ? '' : createHash('sha256').update(token).digest('base64');
    if (cacheOptions !== false) {
      const cached = cache.get(id);
      if (cached !== undefined) {
        if (at >= cached.validFrom && at < cached.validUntil) {
          // Most recently used last, so the bound forgets the least recently used.
          cache.delete(id);
          cache.set(id, cached);
          return cached.principal;
        }
        cache.delete(id);
      }
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.keys, { ...baseOptions, currentDate: new Date(at) }));
    } catch (cause) {
      throw new UnauthorizedError({ cause: reasonOf(cause) });
    }
    if (payload.iat !== undefined && payload.iat * 1000 > at + clockToleranceSeconds * 1000) {
      throw new UnauthorizedError({ cause: new Error('ERR_JWT_CLAIM_VALIDATION_FAILED: "iat" claim is in the future') });
    }
    let principal: Principal;
    try {
      principal = principalFromClaims(payload);
    } catch (cause) {
      throw new UnauthorizedError({ cause: reasonOf(cause) });
    }
    remember(id, payload, principal, at);
    return principal;
  };
}

/**
 * A loggable reason: the error's code (jose's `ERR_JWT_EXPIRED` and friends) or class name
 * and its message. jose's and zod's messages name the check that failed and never quote
 * the token or a claim's value; the original error (whose properties may hold the decoded
 * payload) is not kept.
 */
function reasonOf(cause: unknown): Error {
  if (cause instanceof z.ZodError) {
    const fields = cause.issues.map((issue) => `${issue.path.join('.') || '(claims)'}: ${issue.message}`);
    return new Error(`invalid claims: ${fields.join('; ')}`);
  }
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return new Error(`${typeof code === 'string' ? code : cause.name}: ${cause.message}`);
  }
  return new Error('token verification failed');
}
