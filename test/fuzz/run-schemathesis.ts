/**
 * `npm run -s fuzz`: property-based fuzzing of every operation in the OpenAPI document with
 * schemathesis, against the real local stack (emulator, provisioned resources, the local API
 * Gateway and the real handlers), all started here and stopped again whatever happens.
 *
 * Checks: no 5xx, documented status codes, documented content types, bodies that match the
 * documented schemas. A token for one tenant with every scope is sent on every request, and
 * the `tenant` path parameter is pinned to that tenant (test/fuzz/schemathesis.toml), so the
 * cases reach the handlers instead of stopping at tenant isolation.
 *
 * Extra arguments go to `schemathesis run` after ours, e.g. to look at a few operations:
 *   npm run -s fuzz -- --include-path-regex '^/health'
 *
 * Prints the number of cases and a summary line; exits non-zero when schemathesis reports a
 * failure or an error, or when it overruns its time budget. Reports (JUnit, NDJSON) are left
 * in .local/fuzz/ for a failed run to be read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { localNames } from '#infra/resources';
import { startEmulator } from '#local/emulator';
import { localFunctionEnvironment } from '#local/environment';
import { localDir, repoRoot } from '#local/paths';
import { provision } from '#local/provision';
import { startLocalServer } from '#local/server';
import { mintLocalToken } from '#local/token';

/** A tenant of its own, so the fuzzer's writes never meet anyone else's data. */
const tenant = 'fuzz-tenant';
const allScopes = 'routes:read routes:write resolve audit:read';
/** Cases per operation and phase: enough to find the usual holes, small enough for `npm test`. */
const maxExamples = 25;
/** Fixed so that a failing run can be reproduced with the same inputs. */
const seed = 20_240_611;
const requestTimeoutSeconds = 10;
/** The whole schemathesis run; past this it is stopped and the run fails. */
const budgetMs = 170_000;

const schemathesisBin = path.join(repoRoot, '.venv', 'bin', 'schemathesis');
const configFile = path.join(repoRoot, 'test', 'fuzz', 'schemathesis.toml');
const reportDir = path.join(localDir, 'fuzz');
const ndjsonReport = path.join(reportDir, 'events.ndjson');
const junitReport = path.join(reportDir, 'junit.xml');

const checks = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
].join(',');

interface SchemathesisRun {
  exitCode: number;
  timedOut: boolean;
}

let child: ChildProcess | undefined;

function runSchemathesis(schemaUrl: string, token: string, extraArgs: readonly string[]): Promise<SchemathesisRun> {
  const args = [
    '--config-file',
    configFile,
    'run',
    schemaUrl,
    '--header',
    `Authorization: Bearer ${token}`,
    '--checks',
    checks,
    '--max-examples',
    String(maxExamples),
    '--seed',
    String(seed),
    // No example database: a run depends on the seed alone, and writes nothing into the repo.
    '--generation-database',
    'none',
    '--request-timeout',
    String(requestTimeoutSeconds),
    // One worker: the emulator serialises requests anyway, and the order stays reproducible.
    '--workers',
    '1',
    '--no-color',
    '--report',
    'junit,ndjson',
    '--report-junit-path',
    junitReport,
    '--report-ndjson-path',
    ndjsonReport,
    ...extraArgs,
  ];
  return new Promise((resolve, reject) => {
    const started = spawn(schemathesisBin, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, FUZZ_TENANT: tenant },
    });
    child = started;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      started.kill('SIGTERM');
      setTimeout(() => started.kill('SIGKILL'), 5_000).unref();
    }, budgetMs);
    started.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    started.once('exit', (code, signal) => {
      clearTimeout(timer);
      child = undefined;
      resolve({ exitCode: code ?? (signal === null ? 1 : 128), timedOut });
    });
  });
}

interface CaseCounts {
  operations: number;
  cases: number;
}

/**
 * Counts from the NDJSON event stream: one `ScenarioFinished` per tested scenario, each
 * listing the cases it ran. Read defensively: the format belongs to schemathesis.
 */
async function countCases(): Promise<CaseCounts | undefined> {
  let text: string;
  try {
    text = await readFile(ndjsonReport, 'utf8');
  } catch {
    return undefined;
  }
  const operations = new Set<string>();
  let cases = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const event: unknown = JSON.parse(line);
    const finished = (event as { ScenarioFinished?: unknown }).ScenarioFinished as
      | { recorder?: { label?: unknown; cases?: Record<string, unknown> } }
      | undefined;
    if (finished?.recorder === undefined) continue;
    if (typeof finished.recorder.label === 'string') operations.add(finished.recorder.label);
    cases += Object.keys(finished.recorder.cases ?? {}).length;
  }
  return { operations: operations.size, cases };
}

const stops: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;

/** Stops what was started, newest first; safe to call from a signal and from `finally`. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    child?.kill('SIGTERM');
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        console.error('fuzz: failed to stop a component', error);
      }
    }
  })();
  return stopping;
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    void stopAll().then(() => process.exit(code));
  });
}

async function main(extraArgs: readonly string[]): Promise<number> {
  try {
    const emulator = await startEmulator();
    stops.push(() => emulator.stop());
    await provision({ endpoint: emulator.endpoint, ...localNames });
    // The functions read their configuration when they are first imported, so it is in place
    // before the server loads any handler. Logs at ERROR only: an unexpected error still shows.
    Object.assign(process.env, localFunctionEnvironment(emulator.endpoint), { POWERTOOLS_LOG_LEVEL: 'ERROR' });
    // No throttling: the fuzzer sends requests as fast as it can, and with API Gateway's
    // limits most of them would be answered 429 instead of reaching the handlers.
    const server = await startLocalServer({ port: 0, throttle: false });
    stops.push(() => server.close());

    const token = await mintLocalToken({ tenant, scope: allScopes });
    await rm(reportDir, { recursive: true, force: true });
    await mkdir(reportDir, { recursive: true });

    console.log(`fuzz: schemathesis against ${server.url}/openapi.json as tenant ${tenant} (${allScopes})`);
    const startedAt = Date.now();
    const run = await runSchemathesis(`${server.url}/openapi.json`, token, extraArgs);
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);

    const counts = await countCases();
    const verdict = run.timedOut
      ? `TIMED OUT after ${budgetMs / 1000} s`
      : run.exitCode === 0
        ? 'passed'
        : `FAILED (schemathesis exit ${run.exitCode}; reports in ${path.relative(repoRoot, reportDir)}/)`;
    if (counts !== undefined) console.log(`fuzz: ${counts.cases} cases over ${counts.operations} operations`);
    console.log(`fuzz: ${verdict} in ${seconds} s, seed ${seed}, ${maxExamples} examples per operation`);
    return run.timedOut || run.exitCode !== 0 ? 1 : 0;
  } catch (error) {
    console.error('fuzz: could not run', error);
    return 1;
  } finally {
    await stopAll();
  }
}

process.exitCode = await main(process.argv.slice(2));
