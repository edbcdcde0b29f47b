/**
 * `npm start` as a user runs it: the real start script in its own process, with its own
 * emulator. Checks readiness, outputs.json, what happens when the emulator dies (said in
 * one line, live 200, ready 503, exit status 1), a busy port, and stopping: SIGINT, and
 * SIGTERM sent to the npm process alone (npm does not pass it on), after which no process
 * of the tree is left.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '#local/paths';
import { childProcessEnv } from '#local/lambda-runtime';
import { endpoints } from '#shared/http/endpoints';
import { spawnStartedStack, type StartedStack, type StartOutputs } from '#test/support/local-stack';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process in process group `pgid` (ps, as a user would count them). */
function processGroup(pgid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,pgid='], { encoding: 'utf8' });
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([pid, group]) => group === pgid && pid !== undefined && !Number.isNaN(pid))
    .map(([pid]) => pid as number);
}

/** Polls `done` every 100 ms, at most `limit` times. */
async function waitFor(done: () => boolean, limit = 600): Promise<boolean> {
  for (let i = 0; i < limit && !done(); i += 1) await sleep(100);
  return done();
}

let stack: StartedStack;

beforeAll(async () => {
  // Time enough for the checks below between the emulator's death and the exit.
  stack = await spawnStartedStack({ env: { LOCAL_EMULATOR_EXIT_GRACE_MS: '10000' } });
}, 90_000);

afterAll(async () => {
  await stack.stop();
});

describe('npm start', () => {
  it('writes outputs.json with the API, the emulator and the resources', () => {
    const { outputs } = stack;
    expect(outputs).toMatchObject({
      Region: 'us-east-1',
      TableName: expect.any(String),
      EventBusName: expect.any(String),
      TapQueueUrl: expect.stringContaining('traffic-manager-events-tap'),
      RouteChangesQueueUrl: expect.stringContaining('traffic-manager-route-changes'),
      PublisherDeadLetterQueueUrl: expect.stringContaining('traffic-manager-publisher-dlq'),
    });
    expect(outputs.ApiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(outputs.AwsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.printed()).toContain(outputs.ApiUrl);
    expect(stack.printed()).toContain(outputs.AwsEndpoint);
    expect(stack.printed()).toContain('npm run -s token');
  });

  it('is ready, having really called the table and the bus', async () => {
    const response = await fetch(`${stack.outputs.ApiUrl}/health`);
    const body = (await response.json()) as { checks: Record<string, { status: string }> };
    expect(response.status).toBe(200);
    expect(body.checks.dynamodb?.status).toBe('up');
    expect(body.checks.eventbridge?.status).toBe('up');
  });

  it('refuses a second stack on the same port with one line, no stack trace, and status 1', async () => {
    const port = new URL(stack.outputs.ApiUrl).port;
    const dir = await mkdtemp(path.join(tmpdir(), 'tm-busy-'));
    const second = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
      cwd: repoRoot,
      env: childProcessEnv({ PORT: port, TM_LOCAL_DIR: dir }),
    });
    let printed = '';
    second.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    second.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });

    expect(code).toBe(1);
    expect(printed.trim().split('\n')).toEqual([`traffic-manager: port ${port} on 127.0.0.1 is in use (another npm start?); stop it or set PORT to another port.`]);
    // The first stack is unharmed.
    expect((await fetch(`${stack.outputs.ApiUrl}/health/live`)).status).toBe(200);
  }, 60_000);

  it('says so in one line when the emulator dies, answers live 200 and ready 503 naming DynamoDB, then exits 1', async () => {
    const pid = stack.outputs.EmulatorPid;
    expect(alive(pid)).toBe(true);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const reported = await waitFor(() => stack.printed().includes('the AWS emulator'));
    const detectedInMs = Date.now() - killedAt;
    expect(reported).toBe(true);
    const lines = stack.printed().split('\n').filter((line) => line.includes('the AWS emulator'));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^traffic-manager: the AWS emulator \\(pid ${pid}\\) exited \\(SIGKILL\\);`))]);

    const live = await fetch(`${stack.outputs.ApiUrl}/health/live`);
    expect({ status: live.status, body: await live.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await fetch(`${stack.outputs.ApiUrl}/health/ready`);
    const body = (await ready.json()) as { detail: string; checks: Record<string, { status: string }> };
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toBe('application/problem+json');
    expect(body.detail).toContain('dynamodb');
    expect(body.checks.dynamodb?.status).toBe('down');

    expect(await stack.exited).toBe(1);
    expect(existsSync(path.join(stack.localDir, 'outputs.json'))).toBe(false);
    console.info(`emulator death reported ${detectedInMs} ms after SIGKILL (polled every 100 ms)`);
  }, 60_000);
});

describe('npm start, stopped while healthy', () => {
  it('lifts the local throttles with LOCAL_THROTTLE=off, and after Ctrl-C (SIGINT) leaves no emulator and no outputs.json', async () => {
    const healthy = await spawnStartedStack({ env: { LOCAL_THROTTLE: 'off' } });
    expect(healthy.printed()).toContain('(throttles off)');
    // Three bursts' worth of the most limited method at once: throttled, some would get 429.
    const burst = 3 * endpoints.getLive.throttle.burstLimit;
    const statuses = await Promise.all(
      Array.from({ length: burst }, async () => (await fetch(`${healthy.outputs.ApiUrl}/health/live`)).status),
    );
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    const pid = healthy.outputs.EmulatorPid;
    expect(alive(pid)).toBe(true);
    const outputsFile = path.join(healthy.localDir, 'outputs.json');
    expect(existsSync(outputsFile)).toBe(true);
    healthy.child.kill('SIGINT');
    expect(await healthy.exited).toBe(0);
    expect(existsSync(outputsFile)).toBe(false);
    expect(alive(pid)).toBe(false);
    await healthy.stop();
  }, 60_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('stops every process it started when %s goes to the npm process alone: none left after 10 s', async (signal) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tm-npm-'));
    // `npm start` itself; --ignore-scripts skips prestart's dependency check (run by the test
    // command already), not the start script.
    const npm = spawn('npm', ['start', '--ignore-scripts'], {
      cwd: repoRoot,
      env: childProcessEnv({ PORT: '0', TM_LOCAL_DIR: dir }),
      // A process group of its own: the tree can be counted, and the signal sent to npm alone.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    npm.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const npmPid = npm.pid ?? -1;
    try {
      expect(await waitFor(() => printed.includes('Press Ctrl-C to stop.'))).toBe(true);
      const outputs = JSON.parse(await readFile(path.join(dir, 'outputs.json'), 'utf8')) as StartOutputs;
      // npm, tsx, node (and its esbuild service) share npm's group; the emulator has its own.
      const tree = [...processGroup(npmPid), outputs.EmulatorPid];
      expect(tree.length).toBeGreaterThanOrEqual(4);
      expect(tree.every(alive)).toBe(true);

      process.kill(npmPid, signal);
      await sleep(10_000);

      const left = tree.filter(alive);
      console.info(`after ${signal} to npm (pid ${npmPid}) alone: ${left.length} of ${tree.length} processes left after 10 s`);
      expect(left).toEqual([]);
      expect(existsSync(path.join(dir, 'outputs.json'))).toBe(false);
    } finally {
      for (const pid of processGroup(npmPid)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
