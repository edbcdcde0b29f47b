/**
 * The resolution engine against anchors, in one process, interleaved: per round each
 * contender decides one slice of distinct keys (1,000,000 in all across rounds), in a new
 * random order of contenders every round, and reports nanoseconds per decision.
 *
 * - engine, 2 versions (90/10) and one rule that does not match: `resolve(route, {key})`.
 * - engine, 50 versions: the same with 50 active versions (flatness in versions).
 * - bare FNV-1a, whole string: the anchor. The hash of the `tenant/service/env:key`
 *   string, mod 10000, nothing else: the prefix's char codes then the key's in a plain loop
 *   per key, without building the string (the keys are ASCII, so char codes are the UTF-8
 *   bytes).
 * - bare FNV-1a, key only: the strictest floor. The same hash from the prefix's FNV state,
 *   computed once per block, so only the key's char codes are hashed per decision: what any
 *   sticky decision must at least do. Both loops are checked to give the engine's buckets
 *   before anything is timed.
 * - unleash-client: `getVariant` on a flag with two weighted variants (900/100, default
 *   stickiness on `userId`), repository in memory (no server), metrics off.
 * - LaunchDarkly: `variation` on a flag whose fallthrough is a 90/10 rollout, data from
 *   TestData (no network), events off. Its API is async: one awaited promise per decision.
 */
import { performance } from 'node:perf_hooks';
import { resolve, stickyBucket } from '#shared/domain/resolve';
import type { Route, Version } from '#shared/domain/route.schema';
import { shuffle } from './stats.ts';
import { serveParent } from './child.ts';

export interface EngineRequest {
  keys: number;
  rounds: number;
}

/** Nanoseconds per decision, one figure per round, by contender. */
export type EngineResult = Record<string, number[]>;

function route(versionCount: number): Route {
  const versions: Record<string, Version> = {};
  for (let index = 0; index < versionCount; index += 1) {
    const name = `v${String(index + 1).padStart(2, '0')}`;
    versions[name] = {
      url: `https://checkout-${name}.acme.example`,
      weight: versionCount === 2 ? (index === 0 ? 90 : 10) : 1,
      state: 'active',
    };
  }
  return {
    tenant: 'acme',
    service: 'checkout',
    env: 'prod',
    versions,
    defaultVersion: 'v01',
    rules: [{ header: 'x-canary', equals: '1', version: 'v02' }],
    revision: 7,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T11:00:00.000Z',
    updatedBy: 'bench',
  };
}

type Contender = (keys: readonly string[]) => Promise<number> | number;

function engine(versionCount: number): Contender {
  const target = route(versionCount);
  const headers = { accept: 'application/json' };
  return (keys) => {
    let check = 0;
    for (const key of keys) check += resolve(target, { key, headers }).version.length;
    return check;
  };
}

const barePrefix = 'acme/checkout/prod:';

/** The anchor: FNV-1a over the whole `tenant/service/env:key` per decision. */
function bareFnvWhole(keys: readonly string[]): number {
  let check = 0;
  for (const key of keys) {
    let hash = 0x811c9dc5 | 0;
    for (let index = 0; index < barePrefix.length; index += 1) hash = Math.imul(hash ^ barePrefix.charCodeAt(index), 0x01000193);
    for (let index = 0; index < key.length; index += 1) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
    check += (hash >>> 0) % 10_000;
  }
  return check;
}

/** The strictest floor: the prefix's state once, then only the key per decision. */
function bareFnv(keys: readonly string[]): number {
  // `| 0`: the offset basis is above 2^31; an int32 start keeps the loop in integer
  // registers (from the double, this loop measured two to seven times slower).
  let prefixState = 0x811c9dc5 | 0;
  for (let index = 0; index < barePrefix.length; index += 1) {
    prefixState = Math.imul(prefixState ^ barePrefix.charCodeAt(index), 0x01000193);
  }
  let check = 0;
  for (const key of keys) {
    let hash = prefixState;
    for (let index = 0; index < key.length; index += 1) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
    check += (hash >>> 0) % 10_000;
  }
  return check;
}

async function unleash(): Promise<Contender> {
  const { Unleash } = await import('unleash-client');
  const { EventEmitter } = await import('node:events');
  const feature = {
    name: 'checkout',
    enabled: true,
    strategies: [{ name: 'default', parameters: {}, constraints: [] }],
    variants: [
      { name: 'v1', weight: 900, weightType: 'variable', stickiness: 'default' },
      { name: 'v2', weight: 100, weightType: 'variable', stickiness: 'default' },
    ],
  };
  // An in-memory repository: the client evaluates exactly as with a server, without one.
  const repository = Object.assign(new EventEmitter(), {
    getToggle: (name: string) => (name === feature.name ? feature : undefined),
    getToggles: () => [feature],
    getTogglesWithSegmentData: () => [feature],
    getSegment: () => undefined,
    stop: () => undefined,
    start: async () => undefined,
  });
  const client = new Unleash({
    appName: 'bench',
    url: 'http://127.0.0.1:9/unleash',
    disableMetrics: true,
    skipInstanceCountWarning: true,
    repository: repository as never,
  });
  client.on('error', () => undefined);
  client.on('warn', () => undefined);
  return (keys) => {
    let check = 0;
    for (const key of keys) check += client.getVariant('checkout', { userId: key }).name.length;
    return check;
  };
}

async function launchDarkly(): Promise<{ contender: Contender; close: () => void }> {
  const { init, integrations, basicLogger } = await import('@launchdarkly/node-server-sdk');
  const testData = new integrations.TestData();
  await testData.usePreconfiguredFlag({
    key: 'checkout',
    version: 1,
    on: true,
    variations: ['v1', 'v2'],
    offVariation: 0,
    fallthrough: { rollout: { variations: [{ variation: 0, weight: 90_000 }, { variation: 1, weight: 10_000 }] } },
    salt: 'checkout',
  });
  const client = init('sdk-bench', {
    updateProcessor: testData.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: basicLogger({ level: 'none' }),
  });
  await client.waitForInitialization({ timeout: 10 });
  return {
    contender: async (keys) => {
      let check = 0;
      for (const key of keys) check += String(await client.variation('checkout', { kind: 'user', key }, 'v1')).length;
      return check;
    },
    close: () => client.close(),
  };
}

async function run(request: EngineRequest): Promise<EngineResult> {
  // Each round's keys are made when the round starts (outside the clock), distinct across
  // rounds, so that the million keys are never all in memory at once. They are flat strings,
  // as a parsed query string gives them: a key built by concatenation is a rope that V8
  // flattens in place at its first `charCodeAt`, a copy that was charged to whichever engine
  // row read the round's keys first (the anchors hash their own concatenation instead), and
  // that swung the 50-versus-2 ratio between about 0.65 and 1.55 from run to run.
  const key = (index: number): string =>
    Buffer.from(`customer-${index.toString(36)}-${(index * 2654435761) >>> 0}`, 'latin1').toString('latin1');
  const ld = await launchDarkly();
  const contenders: Record<string, Contender> = {
    'engine (2 versions)': engine(2),
    'engine (50 versions)': engine(50),
    'bare FNV-1a loop (whole string)': bareFnvWhole,
    'bare FNV-1a loop (key only)': bareFnv,
    'unleash-client getVariant': await unleash(),
    'LaunchDarkly variation': ld.contender,
  };
  // Warm-up: every contender compiles its hot path on keys that are not measured.
  const warm = Array.from({ length: 20_000 }, (_, index) => `warm-${index}`);
  const scope = route(2);
  const sameBuckets = (loop: (keys: readonly string[]) => number): boolean =>
    warm.slice(0, 1000).every((text) => loop([text]) === stickyBucket(scope, text));
  if (!sameBuckets(bareFnv) || !sameBuckets(bareFnvWhole)) {
    throw new Error("a bare loop does not compute the engine's buckets");
  }
  for (const contender of Object.values(contenders)) await contender(warm);

  const result: EngineResult = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  const slice = Math.floor(request.keys / request.rounds);
  let sink = 0;
  for (let round = 0; round < request.rounds; round += 1) {
    const roundKeys = Array.from({ length: slice }, (_, index) => key(round * slice + index));
    for (const name of shuffle(Object.keys(contenders))) {
      const contender = contenders[name] as Contender;
      // Run with --expose-gc by bench/run.ts: start every block with a clean heap.
      (globalThis as { gc?: () => void }).gc?.();
      const start = performance.now();
      sink += await contender(roundKeys);
      result[name]?.push(((performance.now() - start) * 1e6) / roundKeys.length);
    }
  }
  ld.close();
  if (sink === 0) throw new Error('no decisions were made');
  return result;
}

serveParent(run);
