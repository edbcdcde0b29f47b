/**
 * Mints a token that the local stack accepts, signed with the local dev key.
 *
 *   npm run -s token -- --tenant acme --scope "routes:read routes:write" [--sub alice] [--expires-in 600]
 *
 * Prints the token alone on standard output. `mintLocalToken` does the same for tests, and
 * takes overrides (issuer, audience, kid, extra claims, no `exp`) to build hostile tokens.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sign } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { clockToleranceSeconds, knownScopes } from '#shared/auth/token-verifier';
import { devKeyAlgorithm, loadDevKeys } from './dev-keys.ts';
import { localAudience, localIssuer } from './environment.ts';
import { SlugSchema } from '#shared/domain/route.schema';

const knownScopeNames: readonly string[] = knownScopes;

export interface LocalTokenOptions {
  /** A tenant slug, or `*` for an operator. Not validated: tests mint bad ones on purpose. */
  tenant: string;
  /** Space-separated scopes, as they go into the `scope` claim. */
  scope: string;
  /** @default 'local-user' */
  sub?: string;
  /** Seconds from now to `exp`; negative for an expired token. @default 3600 */
  expiresIn?: number;
  /** Seconds from now to `nbf`; unset means no `nbf`. */
  notBefore?: number;
  /** @default localIssuer */
  issuer?: string;
  /** @default localAudience */
  audience?: string;
  /** Header `kid`; `null` leaves it out. @default the dev key's kid */
  kid?: string | null;
  /** Leave `exp` out (a token that never expires, which the service must refuse). */
  omitExp?: boolean;
  /** Added to (or replacing) the claims above; `undefined` values remove a claim. */
  claims?: JWTPayload;
  /** Extra protected-header parameters (`crit`, `typ`). */
  header?: Record<string, unknown>;
  /** "Now", in seconds since the epoch. @default the current time */
  now?: number;
}

/** A JWT (compact JWS) signed with the local dev key (ES256). */
export async function mintLocalToken(options: LocalTokenOptions): Promise<string> {
  const { privateKey, publicJwk } = await loadDevKeys();
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? 3600;
  const claims: JWTPayload = {
    iss: options.issuer ?? localIssuer,
    aud: options.audience ?? localAudience,
    sub: options.sub ?? 'local-user',
    tenant: options.tenant,
    scope: options.scope,
    iat: now,
    ...(options.omitExp === true ? {} : { exp: now + expiresIn }),
    ...(options.notBefore === undefined ? {} : { nbf: now + options.notBefore }),
    ...options.claims,
  };
  const payload: JWTPayload = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  const kid = options.kid === undefined ? publicJwk.kid : options.kid;
  const header = { alg: devKeyAlgorithm, typ: 'JWT', ...(kid === null ? {} : { kid }), ...options.header };
  // Signed by hand rather than with jose's SignJWT, which refuses to sign the `crit`
  // headers that tests need to send; ES256 is ECDSA P-256 SHA-256 with a raw r||s signature.
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

const usage = `Usage: npm run -s token -- --tenant <slug|*> --scope "<scopes>" [--sub <id>] [--expires-in <seconds>]

  --tenant       tenant slug (^[a-z0-9][a-z0-9-]{0,62}$), or * for an operator
  --scope        space-separated, from: ${knownScopeNames.join(' ')}
  --sub          the actor recorded in revisions and audit (default: local-user)
  --expires-in   lifetime in seconds (default: 3600); negative for an already expired token,
                 dated a further 60 s back (the clock skew the service allows) so that it is
                 refused

Prints the token alone on standard output.`;

class UsageError extends Error {}

/**
 * A negative `--expires-in` promises an expired token (API.md, Auth); the service accepts
 * `exp` up to 60 s in the past, so the CLI moves such an `exp` past the skew as well.
 */
function cliExpiresIn(seconds: number): number {
  return seconds < 0 ? seconds - clockToleranceSeconds : seconds;
}

/** Parses the command line into mint options; throws `UsageError`. */
export function parseTokenArgs(args: string[]): LocalTokenOptions {
  // node's parseArgs takes `--expires-in -60` for a missing value; a negative number is one.
  const normalised: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    const next = args[index + 1];
    if (arg === '--expires-in' && next !== undefined && /^-\d/.test(next)) {
      normalised.push(`--expires-in=${next}`);
      index += 1;
    } else {
      normalised.push(arg);
    }
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: normalised,
      strict: true,
      allowPositionals: false,
      options: {
        tenant: { type: 'string' },
        scope: { type: 'string' },
        sub: { type: 'string' },
        'expires-in': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { tenant, scope, sub } = values;
  if (tenant === undefined) throw new UsageError('--tenant is required');
  if (tenant !== '*' && !SlugSchema.safeParse(tenant).success) {
    throw new UsageError(`--tenant must be a tenant slug or *, got "${tenant}"`);
  }
  if (scope === undefined) throw new UsageError('--scope is required');
  const scopes = scope.split(' ').filter((name) => name.length > 0);
  const unknown = scopes.filter((name) => !knownScopeNames.includes(name));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(`--scope must list scopes from: ${knownScopeNames.join(' ')}; got "${scope}"`);
  }
  if (sub !== undefined && (sub.length === 0 || sub.length > 256)) {
    throw new UsageError('--sub must be 1 to 256 characters');
  }
  const rawExpiresIn = values['expires-in'];
  if (rawExpiresIn !== undefined && !/^-?\d{1,9}$/.test(rawExpiresIn)) {
    throw new UsageError(`--expires-in must be an integer number of seconds, got "${rawExpiresIn}"`);
  }
  return {
    tenant,
    scope: scopes.join(' '),
    ...(sub === undefined ? {} : { sub }),
    ...(rawExpiresIn === undefined ? {} : { expiresIn: cliExpiresIn(Number(rawExpiresIn)) }),
  };
}

async function main(args: string[]): Promise<number> {
  let options: LocalTokenOptions;
  try {
    options = parseTokenArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}\n\n${usage}\n`);
    return 2;
  }
  process.stdout.write(`${await mintLocalToken(options)}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
