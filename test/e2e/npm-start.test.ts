/**
 * `npm start` as a user runs it: the real start script in its own process, with its own
 * emulator. Checks readiness, outputs.json, the 503 when the emulator dies, and a clean stop.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '#local/paths';

interface Outputs {
  ApiUrl: string;
  AwsEndpoint: string;
  Region: string;
  TableName: string;
  EventBusName: string;
  TapQueueUrl: string;
  EmulatorPid: number;
}

let stack: ChildProcessWithoutNullStreams;
let localDir: string;
let outputs: Outputs;
let printed = '';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  localDir = await mkdtemp(path.join(tmpdir(), 'tm-start-'));
  stack = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', TM_LOCAL_DIR: localDir },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up: ${printed}`)), 60_000);
    const onOutput = (chunk: Buffer): void => {
      printed += chunk.toString();
      if (printed.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    stack.stdout.on('data', onOutput);
    stack.stderr.on('data', onOutput);
    stack.once('exit', (code) => reject(new Error(`npm start exited with ${String(code)}: ${printed}`)));
  });
  outputs = JSON.parse(await readFile(path.join(localDir, 'outputs.json'), 'utf8')) as Outputs;
}, 90_000);

afterAll(async () => {
  if (stack.exitCode === null) stack.kill('SIGKILL');
  await rm(localDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('writes outputs.json with the API, the emulator and the resources', () => {
    expect(outputs).toMatchObject({
      Region: 'us-east-1',
      TableName: expect.any(String),
      EventBusName: expect.any(String),
      TapQueueUrl: expect.stringContaining('traffic-manager-events-tap'),
    });
    expect(outputs.ApiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(printed).toContain(outputs.ApiUrl);
    expect(printed).toContain(outputs.AwsEndpoint);
    expect(printed).toContain('npm run -s token');
  });

  it('is ready, having really called the table and the bus', async () => {
    const response = await fetch(`${outputs.ApiUrl}/health`);
    const body = (await response.json()) as { checks: Record<string, { status: string }> };
    expect(response.status).toBe(200);
    expect(body.checks.dynamodb?.status).toBe('up');
    expect(body.checks.eventbridge?.status).toBe('up');
  });

  it('answers 503 naming the dependencies once the emulator is gone, and stops cleanly on SIGTERM', async () => {
    const pid = outputs.EmulatorPid;
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const response = await fetch(`${outputs.ApiUrl}/health/ready`);
    const body = (await response.json()) as { detail: string; checks: Record<string, { status: string }> };
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(body.detail).toContain('dynamodb');
    expect(body.checks.dynamodb?.status).toBe('down');

    const exited = new Promise<number | null>((resolve) => stack.once('exit', resolve));
    stack.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(alive(pid)).toBe(false);
  }, 30_000);
});

describe('npm start, stopped while healthy', () => {
  it('leaves no emulator process behind after SIGTERM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tm-start-'));
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', TM_LOCAL_DIR: dir },
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Press Ctrl-C to stop.')) resolve();
      });
      child.once('exit', () => reject(new Error(out)));
    });
    const { EmulatorPid: pid } = JSON.parse(await readFile(path.join(dir, 'outputs.json'), 'utf8')) as Outputs;
    expect(alive(pid)).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(alive(pid)).toBe(false);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});
