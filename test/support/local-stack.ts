/**
 * The local API in-process, on the test run's emulator: the same server `npm start` runs
 * (local/server.ts), on a free port. For e2e tests that speak real HTTP to the API.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '#local/paths';
import { childProcessEnv } from '#local/lambda-runtime';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '#local/server';

export async function startTestApi(options: LocalServerOptions = {}): Promise<LocalServer> {
  return startLocalServer({ port: 0, ...options });
}

/** What `npm start` writes to outputs.json (API.md, Local stack), as tests read it. */
export interface StartOutputs {
  ApiUrl: string;
  AwsEndpoint: string;
  Region: string;
  TableName: string;
  EventBusName: string;
  TapQueueUrl: string;
  RouteChangesQueueUrl: string;
  PublisherDeadLetterQueueUrl: string;
  EmulatorPid: number;
}

export interface StartedStack {
  child: ChildProcessWithoutNullStreams;
  outputs: StartOutputs;
  /** Everything the stack printed so far (stdout and stderr). */
  printed: () => string;
  /** SIGTERM (or SIGINT, as Ctrl-C sends), resolving with the exit code; removes the outputs folder. */
  stop: (signal?: 'SIGTERM' | 'SIGINT') => Promise<number | null>;
  /** Resolves with the exit code once the process has exited, however. */
  exited: Promise<number | null>;
  /** The folder outputs.json is in (TM_LOCAL_DIR). */
  localDir: string;
}

export interface SpawnOptions {
  /** Extra environment for the stack (LOCAL_EVENTS_RETRY_ATTEMPTS, ...). */
  env?: Record<string, string>;
}

/**
 * `npm start` as a user runs it: local/start.ts in its own process with its own emulator,
 * on a free port, writing outputs.json to a fresh temporary folder.
 */
export async function spawnStartedStack(options: SpawnOptions = {}): Promise<StartedStack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tm-start-'));
  const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
    cwd: repoRoot,
    env: childProcessEnv({ PORT: '0', TM_LOCAL_DIR: dir, ...options.env }),
  });
  let printed = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up: ${printed}`)), 60_000);
    const onOutput = (chunk: Buffer): void => {
      printed += chunk.toString();
      if (printed.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${String(code)}: ${printed}`)));
  });
  const outputs = JSON.parse(await readFile(path.join(dir, 'outputs.json'), 'utf8')) as StartOutputs;
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    child,
    outputs,
    exited,
    localDir: dir,
    printed: () => printed,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
