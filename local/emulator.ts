/**
 * Starts and stops the local AWS emulator: moto in server mode, run through our launcher
 * (emulator/launcher.py) that serialises requests. The launcher binds a free loopback port
 * and reports it, so two stacks or test runs never collide.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot, venvPython } from './paths.ts';

/** SDK client settings for the emulator: its endpoint and region, and placeholder credentials it accepts. */
export function emulatorClientConfig(endpoint: string, region: string) {
  return { endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  pid: number;
  /** Resolves once the process has exited; idempotent. */
  stop(): Promise<void>;
  /** Resolves when the process exits, for whatever reason, with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const launcher = path.join(repoRoot, 'emulator', 'launcher.py');

interface StartEmulatorOptions {
  /** @default 30000 */
  startTimeoutMs?: number;
  /** Extra launcher flags, e.g. `--moto-transactions` for the benchmark's baseline. */
  launcherArgs?: readonly string[];
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<Emulator> {
  if (!existsSync(venvPython)) {
    throw new Error(`No emulator environment at ${venvPython}: run "bash scripts/ensure-deps.sh".`);
  }
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const child = spawn(venvPython, [launcher, '--host', '127.0.0.1', '--port', '0', ...(options.launcherArgs ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: Ctrl-C in a terminal signals the whole foreground group,
    // and the emulator must stop when we stop it (after the API), not under our feet. If we
    // die without stopping it, the launcher notices its parent is gone and exits.
    detached: true,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    // Keep the tail only: moto logs every request.
    stderr.push(chunk.toString());
    if (stderr.length > 50) stderr.shift();
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Emulator did not start within ${timeoutMs} ms: ${stderr.join('')}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^READY (\d+)$/.exec(line);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Emulator exited with ${code}: ${stderr.join('')}`));
    });
  });

  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(endpoint, timeoutMs);
  return { endpoint, port, pid: child.pid ?? -1, stop: stopper(child), exited };
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`Emulator at ${endpoint} does not answer`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await exited;
  };
}
