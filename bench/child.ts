/**
 * Each measurement runs in a fresh Node process (`node --import tsx <module>`), so that one
 * measurement's heap, JIT state and module cache cannot colour another's. The parent sends
 * one request over IPC and gets one result back; stdout is discarded (Powertools' EMF lines).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { handlerEnvironment } from './environment.ts';
import { repoRoot } from '#local/paths';


/** Runs `module` (a file in bench/ that calls `serveParent`) with `request`, returning its result. */
export function runInChild<Request, Result>(
  module: string,
  request: Request,
  environment: NodeJS.ProcessEnv = handlerEnvironment(''),
  nodeFlags: readonly string[] = [],
): Promise<Result> {
  const child = fork(path.join(import.meta.dirname, module), [], {
    cwd: repoRoot,
    env: environment,
    execArgv: ['--import', 'tsx', '--max-old-space-size=512', ...nodeFlags],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let result: Result | undefined;
    child.once('message', (message) => {
      result = message as Result;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`${module} exited with ${code}`));
    });
    child.send(request as object);
  });
}

/** In the child: answers the parent's one request with `run`'s result, then exits. */
export function serveParent<Request, Result>(run: (request: Request) => Promise<Result>): void {
  process.once('message', (message) => {
    run(message as Request).then(
      (result) => process.send?.(result, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
