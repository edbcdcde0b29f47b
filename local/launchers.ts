/**
 * The processes that launched this one, and a watch on them. `npm start` runs
 * `npm → tsx → node local/start.ts` (the script `exec`s tsx); if npm goes without passing
 * a signal on (killed outright, or an npm that does not forward it), the stack would live
 * on, reparented, so `npm start` watches npm and the processes in between, and stops when
 * one of them is gone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The most launchers looked through for npm (tsx, sh, npm, and a spare). */
const maxDepth = 5;

/** Whether a command line is npm's (`npm start`, `npm run start`, `node …/npm-cli.js …`). */
export function isNpmCommand(args: string): boolean {
  return /^npm(\s|$)/.test(args) || /[/\\]npm-cli\.js(\s|$)/.test(args) || /[/\\]bin[/\\]npm(\s|$)/.test(args);
}

/** The parent pid and command line of a process, from `ps` (Linux and macOS alike). */
async function processInfo(pid: number): Promise<{ ppid: number; args: string } | undefined> {
  try {
    const { stdout } = await run('ps', ['-o', 'ppid=,args=', '-p', String(pid)]);
    const match = /^\s*(\d+)\s+(.*)$/.exec(stdout.trim());
    return match?.[1] === undefined ? undefined : { ppid: Number(match[1]), args: match[2] ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * The pids to watch: every launcher up to and including npm when npm started us;
 * otherwise only the direct parent (tsx, or whatever ran this script).
 */
export async function launcherPids(): Promise<number[]> {
  const chain: number[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < maxDepth && pid > 1; depth += 1) {
    const info = await processInfo(pid);
    if (info === undefined) break;
    chain.push(pid);
    if (isNpmCommand(info.args)) return chain;
    pid = info.ppid;
  }
  return process.ppid > 1 ? [process.ppid] : [];
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Calls `onGone` (once) when any of `pids` has exited; checks twice a second. */
export function watchProcesses(pids: readonly number[], onGone: (pid: number) => void): { stop(): void } {
  let fired = false;
  const timer = setInterval(() => {
    const gone = pids.find((pid) => !isAlive(pid));
    if (gone === undefined || fired) return;
    fired = true;
    clearInterval(timer);
    onGone(gone);
  }, 500);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
