/**
 * Hostile tokens for auth tests, at the handler level and against the local stack. Each is
 * a complete `Authorization` header value unless its name says otherwise; good tokens come
 * from `mintLocalToken` (local/token.ts), whose options build most bad ones too.
 */
import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { loadDevKeys } from '#local/dev-keys';
import { mintLocalToken, type LocalTokenOptions } from '#local/token';

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The claims a valid local token for `tenant` would carry, for hand-built tokens. */
export function validClaims(tenant = 'acme', scope = 'routes:read'): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'https://traffic-manager.local/',
    aud: 'traffic-manager',
    sub: 'mallory',
    tenant,
    scope,
    iat: now,
    exp: now + 600,
  };
}

/** `alg: none`, no signature: the classic bypass. */
export function unsecuredToken(claims = validClaims()): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

/**
 * Key confusion: HS256 with the verifier's *public* key as the HMAC secret, once as the
 * JWK JSON the functions are configured with and once as its PEM, the two forms an
 * attacker can find.
 */
export async function keyConfusionTokens(claims = validClaims()): Promise<string[]> {
  const { publicJwk, privateKey } = await loadDevKeys();
  const pem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' });
  const header = base64url({ alg: 'HS256', typ: 'JWT', kid: publicJwk.kid });
  const input = `${header}.${base64url(claims)}`;
  return [JSON.stringify(publicJwk), pem].map(
    (secret) => `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`,
  );
}

/** A valid token whose payload was swapped (operator, all scopes) under the original signature. */
export async function tamperedToken(): Promise<string> {
  const [header, , signature] = (await mintLocalToken({ tenant: 'acme', scope: 'resolve' })).split('.');
  const forged = { ...validClaims('*', 'routes:read routes:write resolve audit:read') };
  return `${header}.${base64url(forged)}.${signature}`;
}

/** Signed by a key the service has never seen, under the dev key's `kid`. */
export async function foreignKeyToken(claims = validClaims()): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kid } = (await loadDevKeys()).publicJwk;
  const input = `${base64url({ alg: 'ES256', typ: 'JWT', kid })}.${base64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** `Authorization` header for a local token. */
export async function bearer(options: LocalTokenOptions): Promise<string> {
  return `Bearer ${await mintLocalToken(options)}`;
}
