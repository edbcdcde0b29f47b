/**
 * Cold load: each sample is a fresh `node` process (the one running this benchmark, Node 24)
 * that imports one bundle and then, when the target names a request, invokes its handler once
 * (bench/load-bundle.mjs): a cold start is the import and the first request together, so that
 * work moved from the import into the first request is still counted. The first request talks
 * to a stand-in DynamoDB endpoint in this process that finds one route (`benchRoute`) and
 * answers every other call with `{}`: the SDK's first request (signing, endpoint resolution,
 * a connection) is paid by the baseline and the functions alike. Variants are interleaved in a new random order every round, so drift
 * on the shared machine spreads over all of them alike.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { marshall } from '@aws-sdk/util-dynamodb';
import { SignJWT } from 'jose';
import type { Route } from '#shared/domain/route.schema';
import type { BuiltBundle } from './bundles.ts';
import { deployedTracing, handlerEnvironment } from './environment.ts';
import { shuffle } from './stats.ts';

const run = promisify(execFile);
const loader = path.join(import.meta.dirname, 'load-bundle.mjs');

export interface LoadSample {
  importMs: number;
  sinceStartMs: number;
  cpuMs: number;
  /** Import and first request, wall clock; absent when the target has no request. */
  coldMs?: number;
  /** CPU time of the process to the end of the first request. */
  coldCpuMs?: number;
  /** The first response's status (HTTP status, or the SDK's for the baseline). */
  firstStatus?: number;
  heapUsed: number;
  rss: number;
}

/** The first request a target's handler gets: an API Gateway event or, for the baseline, anything. */
export interface ColdRequest {
  functionName: string;
  event: unknown;
}

export interface LoadTarget {
  key: string;
  bundle: BuiltBundle;
  request?: ColdRequest;
}

/** The key pair the first requests' tokens are signed with; its public half goes to the handlers. */
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const issuer = 'https://issuer.bench.invalid/';
const audience = 'traffic-manager';

/** A bearer token the handlers accept (ES256, the bench key), for a tenant and scope. */
export async function benchToken(tenant: string, scope: string): Promise<string> {
  return new SignJWT({ tenant, scope })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench-cold' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}

/** The one route the stand-in DynamoDB holds (any tenant, service and env): 90/10 over two versions. */
export const benchRoute = { tenant: 'bench', service: 'checkout', env: 'prod' } as const;

function routeItem(): string {
  const now = new Date().toISOString();
  const route: Route = {
    ...benchRoute,
    versions: {
      v1: { url: 'https://v1.checkout.example.com', weight: 9000, state: 'active' },
      v2: { url: 'https://v2.checkout.example.com', weight: 1000, state: 'active' },
    },
    rules: [],
    revision: 1,
    createdAt: now,
    updatedAt: now,
    updatedBy: 'bench',
  };
  return JSON.stringify({ Item: marshall({ PK: 'ROUTE#bench', SK: 'ROUTE', revision: 1, route }) });
}

/**
 * Answers DynamoDB calls: a GetItem of a route item finds `benchRoute`; everything else gets
 * `{}` (other reads find nothing, writes succeed).
 */
function startStandInDynamoDb(): Promise<Server> {
  const found = routeItem();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const isGetItem = request.headers['x-amz-target'] === 'DynamoDB_20120810.GetItem';
      const body = Buffer.concat(chunks).toString('utf8');
      const routeRead = isGetItem && /"SK":\{"S":"ROUTE"\}/.test(body);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'bench' });
      response.end(routeRead ? found : '{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function loadOnce(target: LoadTarget, env: NodeJS.ProcessEnv, requestFile: string | undefined): Promise<LoadSample> {
  const args = [loader, pathToFileURL(target.bundle.file).href, ...(requestFile === undefined ? [] : [requestFile])];
  const { stdout } = await run(process.execPath, args, {
    // Tracing on, as deployed functions have it: the tracer and the X-Ray SDK load at import.
    env: { ...handlerEnvironment(target.bundle.variant.nodeOptions), ...deployedTracing, ...env },
    timeout: 30_000,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as LoadSample;
}

/**
 * Loads every target `rounds` times, one process at a time, after `warmup` discarded rounds
 * (page cache, first-run effects). Returns the samples per target key.
 */
export async function measureColdLoads(
  targets: readonly LoadTarget[],
  rounds: number,
  warmup: number,
  onRound: (round: number) => void,
): Promise<Map<string, LoadSample[]>> {
  const dynamoDb = await startStandInDynamoDb();
  const env = {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(dynamoDb.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AUTH_PUBLIC_JWK: JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid: 'bench-cold', alg: 'ES256', use: 'sig' }),
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: audience,
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'traffic-manager-cold-'));
  const requestFiles = new Map(
    targets.flatMap((target, index) => {
      if (target.request === undefined) return [];
      const file = path.join(dir, `request-${index}.json`);
      writeFileSync(file, JSON.stringify(target.request));
      return [[target.key, file] as const];
    }),
  );
  const samples = new Map<string, LoadSample[]>(targets.map((target) => [target.key, []]));
  try {
    for (let round = 0; round < warmup + rounds; round += 1) {
      for (const target of shuffle([...targets])) {
        const sample = await loadOnce(target, env, requestFiles.get(target.key));
        if (round >= warmup) samples.get(target.key)?.push(sample);
      }
      onRound(round - warmup + 1);
    }
  } finally {
    dynamoDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return samples;
}
