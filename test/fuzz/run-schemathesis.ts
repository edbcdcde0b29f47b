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
 * Without include/exclude options every operation of the endpoint table must be fuzzed, or
 * the run fails.
 *
 * Prints the cases and response statuses per operation, the total case count and a summary
 * line. Exits non-zero when schemathesis reports a failure or an error, when an exception
 * escapes a request in the API, when an operation was not fuzzed, or when the run overruns
 * its time budget (170 s). Reports (JUnit, NDJSON) are left in .local/fuzz/ to be read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { localNames } from '#infra/resources';
import { startEmulator } from '#local/emulator';
import { localFunctionEnvironment } from '#local/environment';
import { localDir, repoRoot } from '#local/paths';
import { provision } from '#local/provision';
import { mintLocalToken } from '#local/token';
import { endpointList } from '#shared/http/endpoints';

/** A tenant of its own, so the fuzzer's writes never meet anyone else's data. */
const tenant = 'fuzz-tenant';
const allScopes = 'routes:read routes:write resolve audit:read';
/** Cases per operation and phase: enough to find the usual holes, small enough for `npm test`. */
const maxExamples = 100;
/** Fixed so that a failing run can be reproduced with the same inputs. */
const seed = 20_240_611;
/** Handlers answer in milliseconds against the emulator; a request this slow is a finding. */
const requestTimeoutSeconds = 5;
/** The whole schemathesis run; past this it is stopped and the run fails. */
const budgetMs = 170_000;

const schemathesisBin = path.join(repoRoot, '.venv', 'bin', 'schemathesis');
const configFile = path.join(repoRoot, 'test', 'fuzz', 'schemathesis.toml');
const reportDir = path.join(localDir, 'fuzz');
const ndjsonReport = path.join(reportDir, 'events.ndjson');
const junitReport = path.join(reportDir, 'junit.xml');
const summaryReport = path.join(reportDir, 'summary.json');

const checks = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
].join(',');

let child: ChildProcess | undefined;
/** Why schemathesis was stopped before it finished, if it was. */
const stopReasons: string[] = [];

/**
 * Stops schemathesis early. SIGINT, as from a terminal, so that it still prints the failures
 * it found and the request it was waiting on; SIGKILL if it does not exit soon after.
 */
function stopSchemathesis(reason: string): void {
  stopReasons.push(reason);
  const running = child;
  if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
  running.kill('SIGINT');
  setTimeout(() => running.kill('SIGKILL'), 10_000).unref();
}

/** Whether the caller narrowed the run with schemathesis's own include/exclude options. */
function filtered(extraArgs: readonly string[]): boolean {
  return extraArgs.some((arg) => /^--(include|exclude)-/.test(arg));
}

/**
 * Names every operation of the endpoint table. Schemathesis leaves out the operation that
 * served the schema (GET /openapi.json) unless a filter selects it by name, and it is part of
 * the API like any other.
 */
function everyOperation(): string[] {
  return endpointList.flatMap((endpoint) => ['--include-operation-id', endpoint.id]);
}

/** Runs schemathesis to the end (or until stopped); resolves with its exit code. */
function runSchemathesis(schemaUrl: string, token: string, extraArgs: readonly string[]): Promise<number> {
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
    ...(filtered(extraArgs) ? [] : everyOperation()),
    ...extraArgs,
  ];
  return new Promise((resolve, reject) => {
    const started = spawn(schemathesisBin, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, FUZZ_TENANT: tenant },
    });
    child = started;
    const timer = setTimeout(() => stopSchemathesis(`timed out after ${budgetMs / 1000} s`), budgetMs);
    started.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    started.once('exit', (code, signal) => {
      clearTimeout(timer);
      child = undefined;
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

const ScenarioFinishedSchema = z.object({
  ScenarioFinished: z.object({
    recorder: z.object({
      cases: z.record(z.string(), z.object({ value: z.object({ method: z.string(), path: z.string() }) })).optional(),
      interactions: z
        .record(z.string(), z.object({ response: z.object({ status_code: z.int() }).nullish() }))
        .optional(),
      checks: z.record(z.string(), z.array(z.object({ status: z.string() }))).optional(),
    }),
  }),
});

interface OperationTally {
  cases: number;
  statuses: Map<number, number>;
}

interface Tally {
  /** Every case schemathesis generated, probes of undocumented methods included. */
  cases: number;
  /** Cases with at least one failed check. */
  failedCases: number;
  /** By endpoint id, for the operations of the endpoint table. */
  operations: Map<string, OperationTally>;
}

/**
 * Counts cases and response statuses per operation from the NDJSON event stream (one
 * `ScenarioFinished` event per scenario, with its cases and their interactions). Only the
 * fields read here are validated: the rest of the format belongs to schemathesis.
 */
async function tallyCases(): Promise<Tally | undefined> {
  let text: string;
  try {
    text = await readFile(ndjsonReport, 'utf8');
  } catch {
    return undefined;
  }
  const byRoute = new Map(endpointList.map((endpoint) => [`${endpoint.method} ${endpoint.path}`, endpoint.id]));
  const tally: Tally = { cases: 0, failedCases: 0, operations: new Map() };
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"ScenarioFinished"')) continue;
    const { recorder } = ScenarioFinishedSchema.parse(JSON.parse(line)).ScenarioFinished;
    for (const [caseId, { value }] of Object.entries(recorder.cases ?? {})) {
      tally.cases += 1;
      const checks = recorder.checks?.[caseId] ?? [];
      if (checks.some((check) => /fail|error/i.test(check.status))) tally.failedCases += 1;
      const id = byRoute.get(`${value.method} ${value.path}`);
      if (id === undefined) continue;
      const operation = tally.operations.get(id) ?? { cases: 0, statuses: new Map<number, number>() };
      tally.operations.set(id, operation);
      operation.cases += 1;
      const status = recorder.interactions?.[caseId]?.response?.status_code;
      if (status !== undefined) operation.statuses.set(status, (operation.statuses.get(status) ?? 0) + 1);
    }
  }
  return tally;
}

/** One line per operation: how many cases, and what they were answered. */
function printTally(tally: Tally): void {
  const width = Math.max(...endpointList.map((endpoint) => endpoint.id.length));
  for (const endpoint of endpointList) {
    const operation = tally.operations.get(endpoint.id);
    const statuses = [...(operation?.statuses ?? new Map<number, number>())]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}x${count}`)
      .join(' ');
    console.log(`fuzz:   ${endpoint.id.padEnd(width)} ${String(operation?.cases ?? 0).padStart(4)} cases  ${statuses}`);
  }
}

const stops: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;

/** Stops what was started, newest first; safe to call from a signal and from `finally`. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    child?.kill('SIGKILL');
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

/** Uncaught exceptions after which the run is stopped: each costs a request timeout. */
const maxCrashes = 3;
const crashes: unknown[] = [];

/**
 * The API runs in this process, so an exception that escapes a request (in the local API
 * Gateway or a handler) would end the run without a summary and without stopping anything.
 * It is a finding instead: printed, and the run fails. The request it broke is never
 * answered; schemathesis reports it, with its input, when it times out. After a few such
 * exceptions the run is stopped rather than spending its budget on timeouts.
 */
process.on('uncaughtException', (error) => {
  crashes.push(error);
  if (crashes.length === 1) {
    console.error('fuzz: an exception escaped a request and would have crashed the API process:', error);
  } else {
    console.error(`fuzz: another exception escaped a request: ${String(error)}`);
  }
  if (crashes.length === maxCrashes) stopSchemathesis(`stopped after ${maxCrashes} uncaught exceptions in the API`);
});

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    process.exitCode = code;
    // While schemathesis runs, stopping it lets main print the summary and stop the rest.
    if (child === undefined) void stopAll().then(() => process.exit(code));
    else stopSchemathesis(`interrupted by ${signal}`);
  });
}

async function main(extraArgs: readonly string[]): Promise<number> {
  try {
    const emulator = await startEmulator();
    stops.push(() => emulator.stop());
    await provision({ endpoint: emulator.endpoint, ...localNames });
    // The functions and the shared modules read their configuration when first imported (the
    // Powertools logger and metrics among them, which local/server.ts imports), so it is in
    // place before the server module loads. Logs at ERROR only: an unexpected error still shows.
    Object.assign(process.env, localFunctionEnvironment(emulator.endpoint), { POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const { startLocalServer } = await import('#local/server');
    // No throttling: the fuzzer sends requests as fast as it can, and with API Gateway's
    // limits most of them would be answered 429 instead of reaching the handlers.
    const server = await startLocalServer({ port: 0, throttle: false });
    stops.push(() => server.close());

    const token = await mintLocalToken({ tenant, scope: allScopes });
    await rm(reportDir, { recursive: true, force: true });
    await mkdir(reportDir, { recursive: true });

    console.log(`fuzz: schemathesis against ${server.url}/openapi.json as tenant ${tenant} (${allScopes})`);
    const startedAt = Date.now();
    const exitCode = await runSchemathesis(`${server.url}/openapi.json`, token, extraArgs);
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);

    const tally = await tallyCases();
    if (tally !== undefined) {
      printTally(tally);
      console.log(`fuzz: ${tally.cases} cases, ${tally.operations.size} of ${endpointList.length} operations`);
    }
    // Unfiltered, every operation of the table must have been reached: one missing from the
    // OpenAPI document, or never called, would otherwise pass unnoticed.
    const untested = endpointList.map((endpoint) => endpoint.id).filter((id) => !tally?.operations.has(id));
    const incomplete = !filtered(extraArgs) && untested.length > 0;
    const failures = [
      ...stopReasons,
      ...(crashes.length === 0 ? [] : [`${crashes.length} uncaught exception(s) in the API process`]),
      ...(exitCode === 0 ? [] : [`schemathesis exited ${exitCode}`]),
      ...(incomplete ? [`not fuzzed: ${untested.join(', ')}`] : []),
    ];
    const verdict =
      failures.length === 0 ? 'passed' : `FAILED (${failures.join('; ')}; reports in ${path.relative(repoRoot, reportDir)}/)`;
    const settings = `seed ${seed}, ${maxExamples} examples per operation and phase`;
    const overrides = extraArgs.length === 0 ? '' : `, then: ${extraArgs.join(' ')}`;
    console.log(`fuzz: ${verdict} in ${seconds} s (${settings}${overrides})`);
    // Read by scripts/test-summary.mjs for npm test's closing line: a failed run with no
    // failing case (a crash, an operation never reached) still counts as one failure.
    const failedCases = Math.max(tally?.failedCases ?? 0, failures.length === 0 ? 0 : 1);
    await writeFile(
      summaryReport,
      JSON.stringify({ passed: (tally?.cases ?? 0) - (tally?.failedCases ?? 0), failed: failedCases }),
    );
    return failures.length === 0 ? 0 : 1;
  } catch (error) {
    console.error('fuzz: could not run', error);
    return 1;
  } finally {
    await stopAll();
  }
}

const result = await main(process.argv.slice(2));
// A signal has set its own exit code already.
process.exitCode ??= result;
