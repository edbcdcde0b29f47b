/**
 * The local stack's signing key: an ES256 key pair made on first use in `.local/dev-keys/`
 * (git-ignored), private key readable by its owner only. The local functions verify with the
 * public half (AUTH_PUBLIC_JWK, local/environment.ts) and `npm run token` signs with the
 * private half (local/token.ts).
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { localDir } from './paths.ts';

const devKeysDir = path.join(localDir, 'dev-keys');
export const devKeyAlgorithm = 'ES256';

const privateKeyFile = 'private-key.pem';
const publicJwkFile = 'public-jwk.json';

interface DevKeys {
  privateKey: KeyObject;
  /** The public key as a JWK, with `kid` (its RFC 7638 thumbprint), `alg` and `use`. */
  publicJwk: JWK;
}

async function publicJwkOf(privateKey: KeyObject): Promise<JWK> {
  const { kty, crv, x, y } = privateKey.export({ format: 'jwk' });
  const jwk: JWK = { kty, crv, x, y };
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: devKeyAlgorithm, use: 'sig' };
}

async function generateInto(dir: string): Promise<void> {
  mkdirSync(path.dirname(dir), { recursive: true });
  // Write into a fresh sibling, then rename: concurrent first uses (Jest workers) either win
  // the rename or find a complete directory, never a half-written one.
  const staging = mkdtempSync(`${dir}.tmp-`);
  try {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(path.join(staging, privateKeyFile), pem, { mode: 0o600 });
    chmodSync(path.join(staging, privateKeyFile), 0o600);
    writeFileSync(path.join(staging, publicJwkFile), `${JSON.stringify(await publicJwkOf(privateKey), null, 2)}\n`);
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as { code?: unknown }).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  }
}

/** The dev key pair in `dir`, made there on first use. */
export async function loadDevKeys(dir: string = devKeysDir): Promise<DevKeys> {
  if (!existsSync(path.join(dir, privateKeyFile))) await generateInto(dir);
  const privateKey = createPrivateKey(readFileSync(path.join(dir, privateKeyFile)));
  // Derived again from the private key, so the two halves can never disagree.
  return { privateKey, publicJwk: await publicJwkOf(privateKey) };
}
