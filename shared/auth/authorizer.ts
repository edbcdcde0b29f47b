/**
 * Authentication and authorisation for every endpoint of the table whose `scopes` is not
 * null; the handler factory (shared/middleware/http-handler.ts) calls both, in order.
 *
 * Config (shared/config.ts, `authEnv`) and the key source are built once per execution
 * environment: `AUTH_JWKS_URL` (AWS, a remote JWKS cached across invocations and refetched
 * for a rotated-in `kid`) or `AUTH_PUBLIC_JWK` (local stack and tests); see `keysFromConfig`
 * in ./token-verifier.ts. They are built by `verifierOnce`, which the handler factory calls
 * when it builds a handler whose endpoint has scopes, so a missing or bad variable fails
 * that function's cold start; health and OpenAPI import this module too but are given no
 * AUTH_* variables and never build it.
 */
import { authEnv, parseEnv } from '../config.ts';
import { ForbiddenError, RouteNotFoundError } from '../errors/http-errors.ts';
import type { EndpointDefinition } from '../http/endpoints.ts';
import type { Principal } from './principal.ts';
import { createTokenVerifier, keysFromConfig, type TokenVerifier } from './token-verifier.ts';

/** The detail of the 404 for another tenant's path: the same as for a missing route. */
export const notFoundDetail = new RouteNotFoundError().message;

let verifier: TokenVerifier | undefined;

/**
 * Reads the auth configuration and builds the verifier, once per execution environment.
 * The handler factory calls it when it builds a handler that needs a token, so that a bad
 * configuration fails at cold start; functions without scopes never read AUTH_*.
 */
export function verifierOnce(): TokenVerifier {
  if (verifier === undefined) {
    const config = parseEnv(authEnv);
    verifier = createTokenVerifier({
      keys: keysFromConfig(config),
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      algorithms: config.AUTH_ALGORITHMS,
    });
  }
  return verifier;
}

/**
 * The caller of a request, from its `Authorization: Bearer <JWT>` header. Throws
 * `UnauthorizedError` (401, `WWW-Authenticate: Bearer`) for a missing, malformed, expired,
 * not yet valid, badly signed or wrongly addressed token, with the reason as `cause`.
 * See ./token-verifier.ts for the claims and how unknown scopes are treated (ignored).
 */
export async function authenticate(authorizationHeader: string | undefined): Promise<Principal> {
  return verifierOnce()(authorizationHeader);
}

/**
 * May `principal` call `endpoint` on `pathTenant`'s data? Tenant first: a token bound to
 * another tenant gets `NotFoundError` with the same detail as a missing route, whatever its
 * scopes, so that nothing about the other tenant shows. Then scopes: `ForbiddenError` (403)
 * unless the token holds at least one of the endpoint's scopes. An operator token
 * (`tenant: "*"`) passes the tenant check for every tenant.
 */
export function authorize(principal: Principal, endpoint: EndpointDefinition, pathTenant: string | undefined): void {
  if (pathTenant !== undefined && principal.tenant !== '*' && principal.tenant !== pathTenant) {
    throw new RouteNotFoundError({
      cause: new Error(`token tenant ${principal.tenant} does not match the path tenant`),
    });
  }
  const required = endpoint.scopes;
  if (required === null) return;
  if (!required.some((scope) => principal.scopes.has(scope))) {
    throw new ForbiddenError(`This token does not carry the scope required here: ${required.join(' or ')}.`, {
      headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${required.join(' ')}"` },
    });
  }
}
