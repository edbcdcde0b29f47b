/**
 * `npm run bench`: every performance goal of the project as a ratio to a baseline measured in
 * the same run, interleaved, marked met or missed (the machine is shared and noisy, so only
 * same-run ratios mean much; goals live here, never as timed assertions in tests). Prints
 * Markdown and writes it to bench/RESULTS.md.
 *
 * 1. Engine: `resolve()` against a bare FNV-1a loop, unleash-client and LaunchDarkly evaluating
 *    offline (bench/engine.ts), 1,000,000 distinct keys; 2 against 50 versions.
 * 2. Warm resolve handler, JWT included, against the empty handler chain (bench/stack.ts).
 * 3. HTTP resolve on the local stack (throttles lifted) against a bare node:http server,
 *    driven by autocannon, 10 connections.
 * 4. Bundles: every function under the budget (bench/function-bundles.ts); cold import against a bundle of only the DynamoDB
 *    client; source-map settings (f1, f3, g) and the tracer (h) against production (a), a2
 *    the noise floor.
 * 5. Route cache policy (bench/route-cache-sim.ts): no cliff, no waits for held routes.
 * 6. Opt-in (`-- --emulator-transactions`): the emulator's transaction undo log against moto's
 *    whole-table copy (gigabytes as the table grows, so not in the default run).
 *
 * Knobs: BENCH_ROUNDS (cold loads per target, default 12), BENCH_HOT_CALLS (calls per
 * function, default 20000), BENCH_HTTP_SECONDS (per autocannon run, default 5),
 * BENCH_ENGINE_KEYS (default 1000000), BENCH_ALL_VARIANTS=1 (every bundle variant, not only
 * the source-map ones), BENCH_EMULATOR_ROUNDS / BENCH_EMULATOR_TRANSACTIONS (section 6).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stop as stopEsbuild } from 'esbuild';
import { baselineId, buildVariants, repeatId, type BuiltBundle } from './bundles.ts';
import { runInChild } from './child.ts';
import { benchRoute, benchToken, measureColdLoads, type ColdRequest, type LoadSample, type LoadTarget } from './cold-load.ts';
import { measureEmulatorTransactions, type TransactionSeries } from './emulator-transactions.ts';
import type { EngineRequest, EngineResult } from './engine.ts';
import { buildAllFunctions, bundleBudgetBytes, type FunctionBundle } from './function-bundles.ts';
import { measureRouteCache, type CacheFigures } from './route-cache-sim.ts';
import type { HotRequest, HotSamples, HotSeries, StackStarted } from './stack.ts';
import type { SequenceCost } from './tenant-sequence.ts';
import { deltaPercent, formatDelta, mannWhitneyP, markdownTable, mean, median, quantile } from './stats.ts';
import { repoRoot } from '#local/paths';
import { apiGatewayEvent } from '#test/support/api-gateway-event';

const outRoot = path.join(repoRoot, 'node_modules', '.cache', 'traffic-manager-bench');
const rounds = Number(process.env.BENCH_ROUNDS ?? 12);
const hotCalls = Number(process.env.BENCH_HOT_CALLS ?? 20_000);
const httpSeconds = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const engineKeys = Number(process.env.BENCH_ENGINE_KEYS ?? 1_000_000);
/** Engine rounds: short blocks, so that a neighbour's burst spoils a few rounds, not the figure. */
const engineRounds = 40;
const allVariants = process.env.BENCH_ALL_VARIANTS === '1';
const emulatorTransactionsWanted = process.argv.includes('--emulator-transactions');
const emulatorRounds = Number(process.env.BENCH_EMULATOR_ROUNDS ?? 4);
const emulatorTransactions = Number(process.env.BENCH_EMULATOR_TRANSACTIONS ?? 150);

/** Cold-load subjects: the baseline bundle and the functions compared with it. */
const coldSubjects = [
  { name: 'dynamodb-only', entry: 'bench/ddb-only-handler.ts', note: 'baseline: only the DynamoDB client' },
  { name: 'resolve-route', entry: 'functions/resolve/resolve-route.ts', note: 'the hot path: SDK, jose, zod, handler chain' },
  { name: 'put-route', entry: 'functions/routes/put-route.ts', note: 'the heaviest: SDK, Powertools idempotency, jose, zod' },
  { name: 'get-live', entry: 'functions/health/get-live.ts', note: 'light: the handler chain only' },
] as const;
/** Each cold-load subject's first request (bench/cold-load.ts): the handler's usual call, answered 200. */
async function coldRequest(name: (typeof coldSubjects)[number]['name']): Promise<ColdRequest> {
  const { tenant, service, env } = benchRoute;
  const pathParameters = { tenant, service, env };
  switch (name) {
    case 'dynamodb-only':
      return { functionName: name, event: {} };
    case 'resolve-route':
      return {
        functionName: name,
        event: apiGatewayEvent({
          method: 'GET',
          path: `/v1/tenants/${tenant}/resolve/${service}/${env}`,
          resource: '/v1/tenants/{tenant}/resolve/{service}/{env}',
          pathParameters,
          query: { key: 'user-1' },
          headers: { Authorization: `Bearer ${await benchToken(tenant, 'resolve')}` },
        }),
      };
    case 'put-route':
      return {
        functionName: name,
        event: apiGatewayEvent({
          method: 'PUT',
          path: `/v1/tenants/${tenant}/routes/${service}/${env}`,
          resource: '/v1/tenants/{tenant}/routes/{service}/{env}',
          pathParameters,
          headers: { Authorization: `Bearer ${await benchToken(tenant, 'routes:write')}`, 'Idempotency-Key': 'c0ffee00-0000-4000-8000-000000000002' },
          body: { versions: { v1: { url: 'https://v1.checkout.example.com', weight: 10_000, state: 'active' } } },
        }),
      };
    case 'get-live':
      return { functionName: name, event: apiGatewayEvent({ method: 'GET', path: '/health/live' }) };
  }
}
/** The bundle variants measured by default: production, the noise floor, the source-map choices. */
const defaultVariantIds = [baselineId, repeatId, 'f1', 'f3', 'g', 'h'];

/** A load-time difference counts when the medians differ by this much and the rank test agrees. */
const minimumLoadEffect = 3;
const significance = 0.01;
/** A deployed-size difference counts above this. */
const minimumSizeEffect = 1;
/** A heap difference counts above this (the A/A heap difference is usually well under 1%). */
const minimumHeapEffect = 2;

const formatP = (p: number): string => (p < 0.001 ? '<0.001' : p.toFixed(3));
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number): string => value.toFixed(1);
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const ratio = (value: number): string => `${value.toFixed(2)}×`;
/** `value` against `base` as a signed percentage. */
const pct = (value: number, base: number): string => `${value >= base ? '+' : '−'}${Math.abs(((value - base) / base) * 100).toFixed(0)}%`;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The commit measured, and whether the bundled sources had uncommitted changes. */
function sourceVersion(): string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--', 'functions', 'shared', 'infra/constructs') !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' plus uncommitted changes in functions/, shared/ or infra/constructs/' : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

function machineNote(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((value) => value.toFixed(2)).join(' / ');
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()} (${os.arch()}); load average at start ${load} (1/5/15 min). Shared and noisy: compare rows within this run, not with other runs or with Lambda's arm64.`,
    `- Node ${process.version} (${process.execPath}), esbuild options as in infra/constructs/service-function.ts.`,
    `- Code: ${sourceVersion()}.`,
  ].join('\n');
}

interface LoadSummary {
  imports: number[];
  importMs: number;
  importP25: number;
  importP75: number;
  sinceStartMs: number;
  cpu: number[];
  cpuMs: number;
  /** Import and first request (bench/cold-load.ts). */
  colds: number[];
  coldMs: number;
  /** The first responses' statuses, distinct. */
  statuses: string;
  heapUsed: number;
  rss: number;
}

function summarise(samples: readonly LoadSample[]): LoadSummary {
  const imports = samples.map((sample) => sample.importMs);
  return {
    imports,
    importMs: median(imports),
    importP25: quantile(imports, 0.25),
    importP75: quantile(imports, 0.75),
    sinceStartMs: median(samples.map((sample) => sample.sinceStartMs)),
    cpu: samples.map((sample) => sample.cpuMs),
    cpuMs: median(samples.map((sample) => sample.cpuMs)),
    colds: samples.map((sample) => sample.coldMs ?? Number.NaN),
    coldMs: median(samples.map((sample) => sample.coldMs ?? Number.NaN)),
    statuses: [...new Set(samples.map((sample) => String(sample.firstStatus)))].join(' '),
    heapUsed: median(samples.map((sample) => sample.heapUsed)),
    rss: median(samples.map((sample) => sample.rss)),
  };
}

interface HandlerResult {
  name: string;
  note: string;
  bundles: BuiltBundle[];
  loads: Map<string, LoadSummary>;
}

function bundleTable(result: HandlerResult): string {
  const baseBundle = result.bundles.find((bundle) => bundle.variant.id === baselineId);
  const base = result.loads.get(baselineId);
  if (baseBundle === undefined || base === undefined) throw new Error('no baseline');
  const rows = result.bundles.map((bundle) => {
    const load = result.loads.get(bundle.variant.id);
    if (load === undefined) throw new Error(`no loads for ${bundle.variant.id}`);
    const isBase = bundle.variant.id === baselineId;
    const delta = (value: number, baseline: number): string => (isBase ? '' : ` (${formatDelta(deltaPercent(value, baseline))})`);
    return [
      `${bundle.variant.id}: ${bundle.variant.label}`,
      `${kib(bundle.jsBytes)}${delta(bundle.jsBytes, baseBundle.jsBytes)}`,
      `${kib(bundle.jsGzipBytes)}${delta(bundle.jsGzipBytes, baseBundle.jsGzipBytes)}`,
      `${kib(bundle.assetGzipBytes)}${delta(bundle.assetGzipBytes, baseBundle.assetGzipBytes)}`,
      `${ms(load.importMs)}${delta(load.importMs, base.importMs)}`,
      `${ms(load.importP25)}–${ms(load.importP75)}`,
      isBase ? '' : formatP(mannWhitneyP(load.imports, base.imports)),
      `${ms(load.sinceStartMs)}${delta(load.sinceStartMs, base.sinceStartMs)}`,
      `${ms(load.cpuMs)}${delta(load.cpuMs, base.cpuMs)}`,
      isBase ? '' : formatP(mannWhitneyP(load.cpu, base.cpu)),
      `${ms(load.coldMs)}${delta(load.coldMs, base.coldMs)} (${load.statuses})`,
      isBase ? '' : formatP(mannWhitneyP(load.colds, base.colds)),
      `${mib(load.heapUsed)}${delta(load.heapUsed, base.heapUsed)}`,
    ];
  });
  return markdownTable(
    [
      'variant',
      'JS',
      'JS gzip',
      'asset gzip (JS+map)',
      'import ms (median)',
      'import p25–p75',
      'p (import vs a)',
      'process start→imported ms',
      'CPU ms to imported',
      'p (CPU vs a)',
      'import + first request ms (status)',
      'p (import + first vs a)',
      'heap after import',
    ],
    rows,
  );
}

type Verdict = 'confirmed' | 'trade-off' | 'no measurable effect' | 'not confirmed';

/** One sentence per production choice and handler: what undoing it does, and the verdict. */
function conclusion(result: HandlerResult, bundle: BuiltBundle): { verdict: Verdict; text: string } {
  const baseBundle = result.bundles.find((candidate) => candidate.variant.id === baselineId);
  const base = result.loads.get(baselineId);
  const load = result.loads.get(bundle.variant.id);
  if (baseBundle === undefined || base === undefined || load === undefined) {
    throw new Error('missing results');
  }
  const p = mannWhitneyP(load.imports, base.imports);
  const cpuP = mannWhitneyP(load.cpu, base.cpu);
  const cpuDelta = deltaPercent(load.cpuMs, base.cpuMs);
  const sizeDelta = deltaPercent(bundle.assetGzipBytes, baseBundle.assetGzipBytes);
  const loadDelta = deltaPercent(load.importMs, base.importMs);
  const heapDelta = deltaPercent(load.heapUsed, base.heapUsed);
  let forChoice = 0;
  let against = 0;
  const parts: string[] = [];
  if (Math.abs(sizeDelta) >= minimumSizeEffect) {
    if (sizeDelta > 0) forChoice += 1;
    else against += 1;
    parts.push(`deployed asset ${formatDelta(sizeDelta)}`);
  } else {
    parts.push(`deployed asset about the same (${formatDelta(sizeDelta)})`);
  }
  const wallEffect = Math.abs(loadDelta) >= minimumLoadEffect && p < significance ? Math.sign(loadDelta) : 0;
  const cpuEffect = Math.abs(cpuDelta) >= minimumLoadEffect && cpuP < significance ? Math.sign(cpuDelta) : 0;
  // Either clock may show it (wall time is the noisier one); if they disagree, nothing counts.
  const loadEffect = wallEffect === -cpuEffect && wallEffect !== 0 ? 0 : wallEffect || cpuEffect;
  if (loadEffect > 0) forChoice += 1;
  if (loadEffect < 0) against += 1;
  const wallText = `import ${formatDelta(loadDelta)} (${ms(load.importMs)} vs ${ms(base.importMs)} ms, p ${formatP(p)}${wallEffect === 0 ? ', within noise' : ''})`;
  const cpuText = `CPU ${formatDelta(cpuDelta)} (p ${formatP(cpuP)}${cpuEffect === 0 ? ', within noise' : ''})`;
  parts.push(`${wallText}, ${cpuText}`);
  if (Math.abs(heapDelta) >= minimumHeapEffect) {
    if (heapDelta > 0) forChoice += 1;
    else against += 1;
    parts.push(`heap ${formatDelta(heapDelta)}`);
  } else {
    parts.push(`heap about the same (${formatDelta(heapDelta)})`);
  }
  const verdict: Verdict =
    forChoice > 0 && against === 0
      ? 'confirmed'
      : forChoice > 0
        ? 'trade-off'
        : against > 0
          ? 'not confirmed'
          : 'no measurable effect';
  return { verdict, text: `${result.name}: ${parts.join(', ')}` };
}

function conclusions(results: readonly HandlerResult[]): string {
  const lines: string[] = [];
  const variantsSeen = new Map(results.flatMap((result) => result.bundles.map((bundle) => [bundle.variant.id, bundle.variant] as const)));
  for (const variant of variantsSeen.values()) {
    const choice = variant.productionChoice;
    if (choice === undefined) continue;
    // Only the functions this variant was measured for.
    const perHandler = results.flatMap((result) => {
      const match = result.bundles.find((candidate) => candidate.variant.id === variant.id);
      return match === undefined ? [] : [conclusion(result, match)];
    });
    const verdicts = [...new Set(perHandler.map((item) => item.verdict))].join(' / ');
    lines.push(`- **${choice}** — ${verdicts}. Undoing it (${variant.id}: ${variant.label}): ${perHandler.map((item) => item.text).join('; ')}.`);
  }
  return lines.join('\n');
}

function emulatorRows(baseline: TransactionSeries, ours: TransactionSeries): string[][] {
  return ours.rounds.map((round, index) => {
    const base = baseline.rounds[index];
    if (base === undefined) throw new Error('the two emulator series have different lengths');
    return [
      String(index + 1),
      round.items.toLocaleString('en'),
      base.msPerTransaction.toFixed(1),
      round.msPerTransaction.toFixed(1),
      `${(base.msPerTransaction / round.msPerTransaction).toFixed(1)}×`,
      base.rssMiB.toFixed(0),
      round.rssMiB.toFixed(0),
    ];
  });
}

/** One goal: a figure, its same-run baseline, the ratio, the target and whether it is met. */
interface TargetRow {
  goal: string;
  figure: string;
  baseline: string;
  ratio: string;
  target: string;
  /** Absent for an anchor: a figure for context, not a goal, and not counted. */
  met?: boolean;
  note?: string;
}

function targetTable(rows: readonly TargetRow[]): string {
  return markdownTable(
    ['goal', 'figure', 'baseline (same run)', 'ratio', 'target', 'verdict'],
    rows.map((row) => [row.goal, row.figure, row.baseline, row.ratio, row.target, `${row.met === undefined ? 'anchor' : row.met ? 'met' : '**missed**'}${row.note === undefined ? '' : ` (${row.note})`}`]),
  );
}

// ---------------------------------------------------------------------------------------
// Engine

/** The median over rounds of `numerator[r] / denominator[r]`: each round's contenders ran side by side. */
function roundRatio(numerator: readonly number[], denominator: readonly number[]): number {
  return median(numerator.map((value, index) => value / (denominator[index] ?? Number.NaN)));
}

function engineRows(result: EngineResult): { rows: TargetRow[]; table: string } {
  const series = (name: string): number[] => result[name] ?? [];
  const two = series('engine (2 versions)');
  const fifty = series('engine (50 versions)');
  const bareWhole = series('bare FNV-1a loop (whole string)');
  const bareKey = series('bare FNV-1a loop (key only)');
  const unleash = series('unleash-client getVariant');
  const launchDarkly = series('LaunchDarkly variation');
  const ns = (values: readonly number[]): string => `${median(values).toFixed(0)} ns`;
  const rows: TargetRow[] = [
    { goal: 'engine vs unleash-client getVariant (faster by)', figure: ns(two), baseline: `unleash ${ns(unleash)}`, ratio: ratio(roundRatio(unleash, two)), target: '≥ 5×', met: roundRatio(unleash, two) >= 5 },
    { goal: 'engine vs bare FNV-1a loop over tenant/service/env:key', figure: ns(two), baseline: `bare loop ${ns(bareWhole)}`, ratio: ratio(roundRatio(two, bareWhole)), target: '≤ 1.5×', met: roundRatio(two, bareWhole) <= 1.5 },
    { goal: 'engine vs the key-only floor (prefix hashed once; stricter than the goal)', figure: ns(two), baseline: `floor ${ns(bareKey)}`, ratio: ratio(roundRatio(two, bareKey)), target: '—' },
    { goal: 'engine: 50 versions vs 2 (flat)', figure: ns(fifty), baseline: `2 versions ${ns(two)}`, ratio: ratio(roundRatio(fifty, two)), target: '≤ 1.25×', met: roundRatio(fifty, two) <= 1.25 },
    { goal: 'engine vs LaunchDarkly variation (anchor; async API)', figure: ns(two), baseline: `LaunchDarkly ${ns(launchDarkly)}`, ratio: ratio(roundRatio(launchDarkly, two)), target: '—' },
  ];
  const table = markdownTable(
    ['contender', 'ns/decision: median of rounds', 'fastest round', 'p25–p75 of rounds'],
    Object.entries(result).map(([name, values]) => [
      name,
      ns(values),
      `${Math.min(...values).toFixed(0)} ns`,
      `${quantile(values, 0.25).toFixed(0)}–${quantile(values, 0.75).toFixed(0)} ns`,
    ]),
  );
  return { rows, table };
}

// ---------------------------------------------------------------------------------------
// Hot path and HTTP, on the local stack in a child process

function forkStack(extraEnv: Record<string, string> = {}): ChildProcess {
  return fork(path.join(import.meta.dirname, 'stack.ts'), [], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extraEnv },
    // A bounded heap keeps the whole run under 1 GiB; the stack needs far less than this.
    execArgv: ['--import', 'tsx', '--max-old-space-size=256'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

function ask<T>(child: ChildProcess, message: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`stack child exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (reply) => {
      child.off('exit', onExit);
      resolve(reply as T);
    });
    child.send(message);
  });
}

interface SeriesFigures {
  opsPerSecond: number;
  p50: number;
  p99: number;
  mean: number;
}

function seriesFigures(series: HotSeries): SeriesFigures {
  return {
    opsPerSecond: series.callNs.length / (series.blockNs.reduce((sum, value) => sum + value, 0) / 1e9),
    p50: quantile(series.callNs, 0.5) / 1000,
    p99: quantile(series.callNs, 0.99) / 1000,
    mean: mean(series.callNs) / 1000,
  };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  requests?: { setupRequest: (request: { path: string }) => { path: string } }[];
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

async function startBareServer(): Promise<{ url: string; stop: () => void }> {
  const child = fork(path.join(import.meta.dirname, 'bare-http-server.mjs'), [], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const { url } = await new Promise<{ url: string }>((resolve) => child.once('message', (message) => resolve(message as { url: string })));
  return { url, stop: () => child.disconnect() };
}

interface HttpFigures {
  bare: AutocannonResult[];
  local: AutocannonResult[];
}

async function measureHttp(stack: StackStarted, bareUrl: string): Promise<HttpFigures> {
  let counter = 0;
  const local = (duration: number): Promise<AutocannonResult> =>
    autocannon({
      url: `${stack.url}${stack.resolvePath}`,
      connections: 10,
      duration,
      headers: { authorization: stack.authorization },
      requests: [{ setupRequest: (request) => ({ ...request, path: `${stack.resolvePath}?key=customer-${(counter += 1)}` }) }],
    });
  const bare = (duration: number): Promise<AutocannonResult> => autocannon({ url: bareUrl, connections: 10, duration });
  await bare(1);
  await local(1);
  const figures: HttpFigures = { bare: [], local: [] };
  for (let round = 0; round < 2; round += 1) {
    // Alternate which goes first.
    if (round % 2 === 0) {
      figures.bare.push(await bare(httpSeconds));
      figures.local.push(await local(httpSeconds));
    } else {
      figures.local.push(await local(httpSeconds));
      figures.bare.push(await bare(httpSeconds));
    }
  }
  return figures;
}

function httpSummary(results: readonly AutocannonResult[]): { rps: number; p50: number; p99: number; failures: number } {
  return {
    rps: median(results.map((result) => result.requests.average)),
    p50: median(results.map((result) => result.latency.p50)),
    p99: median(results.map((result) => result.latency.p99)),
    failures: results.reduce((sum, result) => sum + result.non2xx + result.errors + result.timeouts, 0),
  };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineNote();
  mkdirSync(outRoot, { recursive: true });
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;

  log('building every function bundle…');
  // Only the figures are kept: the metafiles are large.
  const functionBundles: Pick<FunctionBundle, 'entry' | 'jsBytes' | 'byPackage'>[] = (await buildAllFunctions(path.join(outRoot, 'functions'))).map(
    ({ entry, jsBytes, byPackage }) => ({ entry, jsBytes, byPackage }),
  );
  const largest = functionBundles.reduce((big, bundle) => (bundle.jsBytes > big.jsBytes ? bundle : big));

  log(`building cold-load variants… (${elapsed()})`);
  const variantIds = allVariants ? undefined : defaultVariantIds;
  const built = await Promise.all(
    coldSubjects.map(async (subject) => ({
      ...subject,
      bundles: (await buildVariants(path.join(repoRoot, subject.entry), path.join(outRoot, subject.name), variantIds)).filter(
        // The noise floor once is enough: on the heaviest bundle; the tracer only where it is.
        (bundle) =>
          (bundle.variant.id !== repeatId || subject.name === 'put-route') &&
          (bundle.variant.id !== 'h' || subject.name === 'resolve-route' || subject.name === 'put-route'),
      ),
    })),
  );
  // esbuild's service process holds on to hundreds of MiB after the builds; nothing is built later.
  await stopEsbuild();
  const requests = new Map(await Promise.all(coldSubjects.map(async (subject) => [subject.name, await coldRequest(subject.name)] as const)));
  const targets: LoadTarget[] = built.flatMap((subject) =>
    subject.bundles.map((bundle) => ({ key: `${subject.name}/${bundle.variant.id}`, bundle, request: requests.get(subject.name) })),
  );
  log(`cold loads: ${targets.length} targets × (${rounds} rounds + 1 warm-up)… (${elapsed()})`);
  const samples = await measureColdLoads(targets, rounds, 1, (round) => {
    if (round > 0 && round % 4 === 0) log(`  round ${round}/${rounds} (${elapsed()})`);
  });
  const results: HandlerResult[] = built.map((subject) => ({
    name: subject.name,
    note: subject.note,
    bundles: subject.bundles,
    loads: new Map(subject.bundles.map((bundle) => [bundle.variant.id, summarise(samples.get(`${subject.name}/${bundle.variant.id}`) ?? [])])),
  }));

  log(`engine: ${engineKeys.toLocaleString('en')} keys… (${elapsed()})`);
  const engine = await runInChild<EngineRequest, EngineResult>('engine.ts', { keys: engineKeys, rounds: engineRounds }, undefined, ['--expose-gc']);

  log(`route cache policy… (${elapsed()})`);
  const cache: CacheFigures = await measureRouteCache();

  // The local stack as it runs (tracing off, so no X-Ray SDK), then again with the X-Ray
  // SDK's async hook on: what a function with tracing on pays before writing any segment.
  const measureStack = async (name: string, extraEnv: Record<string, string>, withHttp: boolean): Promise<{ hot: HotSamples; http?: HttpFigures }> => {
    log(`local stack${name}: emulator, table, API… (${elapsed()})`);
    const stackChild = forkStack(extraEnv);
    try {
      const stack = await ask<StackStarted>(stackChild, { type: 'start' });
      log(`hot path${name}: ${hotCalls} calls per function… (${elapsed()})`);
      const hotSamples = await ask<HotSamples>(stackChild, { type: 'hot', callsPerFunction: hotCalls, warmupCalls: 2000, blocks: 10 } satisfies { type: 'hot' } & HotRequest);
      if (!withHttp) return { hot: hotSamples };
      log(`HTTP${name}: autocannon, 10 connections, 2 × ${httpSeconds} s each… (${elapsed()})`);
      const bareServer = await startBareServer();
      try {
        return { hot: hotSamples, http: await measureHttp(stack, bareServer.url) };
      } finally {
        bareServer.stop();
      }
    } finally {
      stackChild.send({ type: 'stop' });
    }
  };
  const { hot, http } = await measureStack('', {}, true);
  const xrayHooked = await measureStack(' (X-Ray SDK loaded)', { BENCH_XRAY_HOOK: '1' }, true);
  if (http === undefined || xrayHooked.http === undefined) throw new Error('HTTP rows not measured');
  const hookedHttp = xrayHooked.http;
  // Tracing as deployed: the hook, and Powertools' segments for every invocation.
  const { hot: tracedHot } = await measureStack(' (tracing on)', { BENCH_TRACE_ON: '1' }, false);

  let emulatorSeries: [TransactionSeries, TransactionSeries] | undefined;
  if (emulatorTransactionsWanted) {
    log(`emulator: ${emulatorRounds} rounds of ${emulatorTransactions} transactions, baseline and ours… (${elapsed()})`);
    const [baseline, ours] = await measureEmulatorTransactions(emulatorRounds, emulatorTransactions);
    if (baseline === undefined || ours === undefined) throw new Error('emulator benchmark returned no series');
    emulatorSeries = [baseline, ours];
  }

  log(`tenant sequence: 8 writers on 8 routes, across 8 tenants and in one… (${elapsed()})`);
  const sequence = measureSequenceCost();

  // ---- Rows -------------------------------------------------------------------------
  const { rows: engineTargetRows, table: engineTable } = engineRows(engine);
  const bare = seriesFigures(hot.bare);
  const chain = seriesFigures(hot.chain);
  const resolveFigures = seriesFigures(hot.resolve);
  const httpBare = httpSummary(http.bare);
  const httpLocal = httpSummary(http.local);
  const hookedChain = seriesFigures(xrayHooked.hot.chain);
  const hookedResolve = seriesFigures(xrayHooked.hot.resolve);
  const hookedBare = seriesFigures(xrayHooked.hot.bare);
  const hookedHttpBare = httpSummary(hookedHttp.bare);
  const hookedHttpLocal = httpSummary(hookedHttp.local);
  const tracedChain = seriesFigures(tracedHot.chain);
  const tracedResolve = seriesFigures(tracedHot.resolve);
  const importOf = (name: string, variant = baselineId): number => results.find((result) => result.name === name)?.loads.get(variant)?.importMs ?? Number.NaN;
  const ddbImport = importOf('dynamodb-only');
  const coldOf = (name: string): LoadSummary | undefined => results.find((result) => result.name === name)?.loads.get(baselineId);
  const ddbCold = coldOf('dynamodb-only');
  const coldStartTable = markdownTable(
    ['function (production bundle)', 'import ms', 'vs DynamoDB only', 'import + first request ms', 'vs DynamoDB only', 'first status'],
    coldSubjects.map(({ name }) => {
      const load = coldOf(name);
      return [
        name,
        ms(load?.importMs ?? Number.NaN),
        ratio((load?.importMs ?? Number.NaN) / ddbImport),
        ms(load?.coldMs ?? Number.NaN),
        ratio((load?.coldMs ?? Number.NaN) / (ddbCold?.coldMs ?? Number.NaN)),
        load?.statuses ?? '',
      ];
    }),
  );
  const rows: TargetRow[] = [
    ...engineTargetRows,
    {
      goal: 'warm resolve handler (JWT included) vs empty handler chain, p50',
      figure: `${resolveFigures.p50.toFixed(1)} µs`,
      baseline: `chain ${chain.p50.toFixed(1)} µs`,
      ratio: ratio(resolveFigures.p50 / chain.p50),
      target: '≤ 2×',
      met: resolveFigures.p50 / chain.p50 <= 2,
    },
    {
      goal: 'log lines per warm resolve request (default level)',
      figure: hot.resolveLogLinesPerCall.toFixed(2),
      baseline: '',
      ratio: '',
      target: '≤ 1',
      met: hot.resolveLogLinesPerCall <= 1,
    },
    {
      goal: 'HTTP resolve on the local stack vs bare node:http (req/s)',
      figure: `${Math.round(httpLocal.rps).toLocaleString('en')} req/s`,
      baseline: `bare ${Math.round(httpBare.rps).toLocaleString('en')} req/s`,
      ratio: ratio(httpLocal.rps / httpBare.rps),
      target: '≥ 0.5×',
      met: httpLocal.rps / httpBare.rps >= 0.5 && httpLocal.failures === 0,
      ...(httpLocal.failures > 0 ? { note: `${httpLocal.failures} non-2xx/errors` } : {}),
    },
    {
      goal: 'HTTP resolve on the local stack, p99 latency',
      figure: `${httpLocal.p99.toFixed(1)} ms`,
      baseline: `bare ${httpBare.p99.toFixed(1)} ms`,
      // autocannon reports whole milliseconds: a bare p99 under 1 ms shows as 0.
      ratio: httpBare.p99 >= 1 ? ratio(httpLocal.p99 / httpBare.p99) : '',
      target: '< 5 ms',
      met: httpLocal.p99 < 5,
    },
    {
      goal: 'largest function bundle (minified JS)',
      figure: `${kib(largest.jsBytes)} (${path.basename(path.dirname(largest.entry))}/${path.basename(largest.entry, '.ts')})`,
      baseline: `budget ${kib(bundleBudgetBytes)}`,
      ratio: ratio(largest.jsBytes / bundleBudgetBytes),
      target: `< ${kib(bundleBudgetBytes)}`,
      met: largest.jsBytes < bundleBudgetBytes,
    },
    ...(['resolve-route', 'put-route', 'get-live'] as const).map((name) => ({
      goal: `cold import: ${name} vs DynamoDB-client-only bundle`,
      figure: `${ms(importOf(name))} ms`,
      baseline: `DynamoDB only ${ms(ddbImport)} ms`,
      ratio: ratio(importOf(name) / ddbImport),
      target: '≤ 1.3×',
      met: importOf(name) / ddbImport <= 1.3,
    })),
    {
      goal: 'route cache: hit ratio, 1010 routes round-robin, default budget',
      figure: `${(cache.roundRobinDefault.ours * 100).toFixed(1)}%`,
      baseline: `before: ${(cache.roundRobinDefault.previous * 100).toFixed(1)}%`,
      ratio: '',
      target: '≥ 99% (no cliff)',
      met: cache.roundRobinDefault.ours >= 0.99,
    },
    {
      goal: 'route cache: hit ratio, working set 1% over the budget',
      figure: `${(cache.roundRobinOverBudget.ours * 100).toFixed(1)}%`,
      baseline: `exact LRU: ${(cache.roundRobinOverBudget.previous * 100).toFixed(1)}%`,
      ratio: '',
      target: '≥ 80% (no cliff)',
      met: cache.roundRobinOverBudget.ours >= 0.8,
    },
    {
      goal: 'route cache: callers waiting for a held route, steady traffic',
      figure: `${cache.steadyWaits.ours} of ${cache.steadyWaits.requests.toLocaleString('en')}`,
      baseline: `before: ${cache.steadyWaits.previous.toLocaleString('en')}`,
      ratio: '',
      target: '0',
      met: cache.steadyWaits.ours === 0,
    },
  ];
  const goals = rows.filter((row) => row.met !== undefined);
  const met = goals.filter((row) => row.met === true).length;

  const report = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); numbers from one run. Re-run to refresh.',
    '',
    machine,
    '',
    `## Goals: ${met} of ${goals.length} met`,
    '',
    'Each figure against a baseline measured in the same run, interleaved with it; the ratio is what the target is about.',
    '',
    targetTable(rows),
    '',
    '## 1. Engine',
    '',
    `ns per decision, ${engineKeys.toLocaleString('en')} distinct keys split over ${engineRounds} rounds, contenders in a new random order each round, in a child process after a 20,000-key warm-up (bench/engine.ts). Ratios are the median over rounds of the ratio within each round, where the contenders ran side by side; a full garbage collection before each contender's block (outside the clock) keeps one contender's garbage off the next one's time. Engine: \`resolve(route, { key, headers })\` on a route with one rule that does not match, 2 versions (90/10) or 50. Keys are flat strings, as a parsed query string gives them. Bare loops, both checked to give the engine's buckets: (whole string, the goal's anchor) FNV-1a 32 over the char codes of \`tenant/service/env:key\` per decision, without building the string, mod 10000, nothing else; (key only, the strictest floor) the same hash continued from the state after \`tenant/service/env:\`, computed once per block, so only the key is hashed per decision. unleash-client ${'`getVariant`'} (two variants 900/100, default stickiness) from an in-memory repository; LaunchDarkly \`variation\` (90/10 rollout fallthrough) from TestData, events off, one awaited promise per decision.`,
    '',
    engineTable,
    '',
    '## 2. Warm handler: resolve against the empty chain',
    '',
    `In-process in the local stack's child process, ${hotCalls.toLocaleString('en')} calls each in 10 rotating blocks after 2,000 warm-up calls, a new API Gateway event and Lambda context per call built outside the clock. Resolve: a bearer token (the same one, as a data plane reuses its token), a distinct \`?key=\` per call, the route in the cache (default TTL, refresh ahead). Chain: get-live through \`httpHandler\` (tracer middleware, logger, metrics, security headers, normaliser, request id, input, error mapper; \`run\` calls nothing). Metrics disabled, tracing off (so the tracer is shared/observability.ts' stand-in and the X-Ray SDK is not loaded), LOG_LEVEL INFO. Per-call times include one \`hrtime.bigint()\` pair (${hot.timerOverheadNs} ns median).`,
    '',
    markdownTable(
      ['function', 'ops/s', 'p50 µs', 'p99 µs', 'mean µs'],
      [
        ['bare async function', Math.round(bare.opsPerSecond).toLocaleString('en'), bare.p50.toFixed(2), bare.p99.toFixed(2), bare.mean.toFixed(2)],
        ['empty handler chain (get-live)', Math.round(chain.opsPerSecond).toLocaleString('en'), chain.p50.toFixed(2), chain.p99.toFixed(2), chain.mean.toFixed(2)],
        ['resolve (JWT, warm cache)', Math.round(resolveFigures.opsPerSecond).toLocaleString('en'), resolveFigures.p50.toFixed(2), resolveFigures.p99.toFixed(2), resolveFigures.mean.toFixed(2)],
        ['bare async function, X-Ray SDK loaded', Math.round(hookedBare.opsPerSecond).toLocaleString('en'), hookedBare.p50.toFixed(2), hookedBare.p99.toFixed(2), hookedBare.mean.toFixed(2)],
        ['empty handler chain, X-Ray SDK loaded', Math.round(hookedChain.opsPerSecond).toLocaleString('en'), hookedChain.p50.toFixed(2), hookedChain.p99.toFixed(2), hookedChain.mean.toFixed(2)],
        ['resolve, X-Ray SDK loaded', Math.round(hookedResolve.opsPerSecond).toLocaleString('en'), hookedResolve.p50.toFixed(2), hookedResolve.p99.toFixed(2), hookedResolve.mean.toFixed(2)],
        ['empty handler chain, tracing on (unsampled)', Math.round(tracedChain.opsPerSecond).toLocaleString('en'), tracedChain.p50.toFixed(2), tracedChain.p99.toFixed(2), tracedChain.mean.toFixed(2)],
        ['resolve, tracing on (unsampled)', Math.round(tracedResolve.opsPerSecond).toLocaleString('en'), tracedResolve.p50.toFixed(2), tracedResolve.p99.toFixed(2), tracedResolve.mean.toFixed(2)],
      ],
    ),
    '',
    `"X-Ray SDK loaded": the same three in a second stack process that imports \`aws-xray-sdk-core\` first, as Powertools' tracer does where it traces; tracing stays off, so this is only the SDK's cls-hooked async hook (init/before/after/destroy on every promise): ${pct(hookedChain.p50, chain.p50)} on the chain's p50, ${pct(hookedResolve.p50, resolveFigures.p50)} on resolve's. Deployed functions trace (active tracing) and pay it, plus Powertools' segments: "tracing on" is a third stack process in Lambda's terms for both Powertools and the X-Ray SDK (\`AWS_EXECUTION_ENV\`, \`LAMBDA_TASK_ROOT\`, an unsampled \`_X_AMZN_TRACE_ID\`, as most requests are under X-Ray's default sampling), ${pct(tracedChain.p50, chain.p50)} on the chain's p50 and ${pct(tracedResolve.p50, resolveFigures.p50)} on resolve's. Where tracing is off (the local stack, tests, these rows) shared/observability.ts does not load the tracer, so nothing pays it.`,
    '',
    '## 3. HTTP: resolve on the local stack against a bare node:http server',
    '',
    `autocannon (in the benchmark's own process), 10 connections, a 1 s warm-up each, then 2 rounds of ${httpSeconds} s each, alternating which goes first. Local stack: local/server.ts with \`throttle: false\` (what \`LOCAL_THROTTLE=off\` selects), the emulator behind it, a token, a distinct key per request. Bare: node:http answering a resolution-sized JSON body, in a process of its own. All on the same 2 shared cores.`,
    '',
    markdownTable(
      ['server', 'req/s (median of rounds)', 'p50 ms', 'p99 ms', 'non-2xx / errors / timeouts', 'per round req/s'],
      [
        ['bare node:http', Math.round(httpBare.rps).toLocaleString('en'), httpBare.p50.toFixed(1), httpBare.p99.toFixed(1), String(httpBare.failures), http.bare.map((result) => Math.round(result.requests.average)).join(' ')],
        ['local stack resolve', Math.round(httpLocal.rps).toLocaleString('en'), httpLocal.p50.toFixed(1), httpLocal.p99.toFixed(1), String(httpLocal.failures), http.local.map((result) => Math.round(result.requests.average)).join(' ')],
        ['bare node:http (beside the next row)', Math.round(hookedHttpBare.rps).toLocaleString('en'), hookedHttpBare.p50.toFixed(1), hookedHttpBare.p99.toFixed(1), String(hookedHttpBare.failures), hookedHttp.bare.map((result) => Math.round(result.requests.average)).join(' ')],
        ['local stack resolve, X-Ray SDK loaded', Math.round(hookedHttpLocal.rps).toLocaleString('en'), hookedHttpLocal.p50.toFixed(1), hookedHttpLocal.p99.toFixed(1), String(hookedHttpLocal.failures), hookedHttp.local.map((result) => Math.round(result.requests.average)).join(' ')],
      ],
    ),
    '',
    `With the X-Ray SDK loaded (its async hook on, tracing off) the local stack serves ${ratio(hookedHttpLocal.rps / hookedHttpBare.rps)} of the bare server beside it, against ${ratio(httpLocal.rps / httpBare.rps)} without.`,
    '',
    '## 4. Bundles and cold start',
    '',
    `Every function bundled with the production options of \`ServiceFunction\` (aliases included: the environment credential provider, semver's \`gte\`, node:http and node:process without ESM facades):`,
    '',
    markdownTable(
      ['function', 'JS', 'largest packages'],
      functionBundles.map((bundle) => [
        bundle.entry,
        kib(bundle.jsBytes),
        [...bundle.byPackage].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, bytes]) => `${name} ${kib(bytes)}`).join(', '),
      ]),
    ),
    '',
    `Cold loads: median over ${rounds} fresh \`node\` processes per target (after one discarded warm-up round), targets interleaved in a new random order each round, each importing the bundle with the handler's environment (tracing on, as deployed functions have it, so the tracer and the X-Ray SDK load at import; variant h removes them from the bundle) and \`NODE_OPTIONS=--enable-source-maps\` as \`ServiceFunction\` sets it (except g). "import ms" is \`process.hrtime\` around \`import()\`; "CPU ms" the process's CPU time to the end of the import; deltas against (a) of the same function; a2 loads (a) again (the noise floor); "p" a two-sided Mann–Whitney U test against (a). "asset gzip" is gzip(JS) + gzip(map), a proxy for the deployment zip. "import + first request": the same process then invokes the handler once with its usual request (resolve with a token and a key, a PUT of a route, the liveness check; the baseline one GetItem) against a stand-in DynamoDB endpoint in the benchmark's process, so that work a function leaves for its first request is counted too; the status is the first response's.`,
    '',
    coldStartTable,
    '',
    ...results.flatMap((result) => [`### ${result.name} (${result.note})`, '', bundleTable(result), '']),
    '### What the figures say about each choice',
    '',
    `A size difference counts from ${minimumSizeEffect}% of the deployed asset; a load difference when the medians of the import time or of the CPU time differ by ${minimumLoadEffect}% or more with p < ${significance}; a heap difference from ${minimumHeapEffect}%. "confirmed": undoing the production choice makes things worse and nothing better; "not confirmed": only better without it.`,
    '',
    conclusions(results.filter((result) => result.name !== 'dynamodb-only')),
    '',
    '## 5. Route cache policy',
    '',
    `bench/route-cache-sim.ts: the cache with a simulated clock and an instant loader, against the cache as it was (a 1000-entry exact LRU, expired routes reloaded while the caller waits). A typical two-version route with one rule is estimated at ${cache.routeBytes.toLocaleString('en')} bytes, so the default 32 MiB holds about ${Math.floor((32 * 1024 * 1024) / cache.routeBytes).toLocaleString('en')} of them.`,
    '',
    markdownTable(
      ['case', 'now', 'before'],
      [
        ['hit ratio, 1010 routes round-robin, default budget', `${(cache.roundRobinDefault.ours * 100).toFixed(1)}%`, `${(cache.roundRobinDefault.previous * 100).toFixed(1)}%`],
        ['hit ratio, 1010 routes round-robin, budget for about 1000', `${(cache.roundRobinOverBudget.ours * 100).toFixed(1)}%`, `${(cache.roundRobinOverBudget.previous * 100).toFixed(1)}%`],
        [`callers waiting for a held route, steady traffic (each route every 200–600 ms), ${cache.steadyWaits.requests.toLocaleString('en')} requests`, String(cache.steadyWaits.ours), String(cache.steadyWaits.previous)],
        [`callers waiting for a held route, sparse traffic (exponential gaps, mean 1.5 s), ${cache.sparseWaits.requests.toLocaleString('en')} requests`, String(cache.sparseWaits.ours), String(cache.sparseWaits.previous)],
      ],
    ),
    '',
    'Sparse traffic still waits when a route gets no request during the last half of its TTL: serving it later would break the freshness bound of API.md (a change reaches resolve within the TTL).',
    '',
    ...(emulatorSeries === undefined
      ? ['## 6. Local emulator: transactions as the table grows', '', 'Not run (opt-in: `npm run bench -- --emulator-transactions`; moto\'s baseline copies the whole table per transaction and grows to gigabytes).', '']
      : [
          '## 6. Local emulator: transactions as the table grows',
          '',
          `moto deep-copies every table a transaction names before running it; our launcher keeps an undo log of the named items (emulator/launcher.py). ${emulatorRounds} interleaved rounds of ${emulatorTransactions} sequential transactions each.`,
          '',
          markdownTable(
            ['round', 'items after', `${emulatorSeries[0].label} ms/tx`, `${emulatorSeries[1].label} ms/tx`, 'speed-up', 'baseline RSS MiB', 'ours RSS MiB'],
            emulatorRows(emulatorSeries[0], emulatorSeries[1]),
          ),
          '',
        ]),
    '## 7. The tenant sequence: what serialising a tenant\'s writes costs',
    '',
    'Eight writers commit through the one write path (shared/store/commit-change.ts) against the emulator, 15 commits each, on eight routes of eight tenants (no shared sequence) or of one tenant (one sequence item every commit advances), in 3 interleaved rounds (bench/tenant-sequence.ts, a process of its own); medians.',
    '',
    markdownTable(
      ['writers on', 'commits/s', 'ratio', 'lost races per commit (one tenant)'],
      [
        ['8 routes of 8 tenants', sequence.separateTenants.toFixed(0), '1.00×', ''],
        ['8 routes of one tenant', sequence.oneTenant.toFixed(0), ratio(sequence.oneTenant / sequence.separateTenants), sequence.retriesPerCommit.toFixed(2)],
      ],
    ),
    '',
    `Total benchmark time: ${elapsed()}.`,
    '',
  ].join('\n');

  process.stdout.write(report);
  writeFileSync(path.join(import.meta.dirname, 'RESULTS.md'), report);
  log('written to bench/RESULTS.md');
  // The engine child's LaunchDarkly client and autocannon's agents may keep handles open.
  process.exit(0);
}

/** bench/tenant-sequence.ts in a process of its own: it points the shared clients at its own emulator. */
function measureSequenceCost(): SequenceCost {
  const output = execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'tenant-sequence.ts'), '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as SequenceCost;
}

await main();
