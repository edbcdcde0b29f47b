/**
 * `npm start` as a user runs it: the real start script in its own process, with its own
 * emulator. Checks readiness, outputs.json, the 503 when the emulator dies, and a clean stop.
 */
import { spawnStartedStack, type StartedStack } from '#test/support/local-stack';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let stack: StartedStack;

beforeAll(async () => {
  stack = await spawnStartedStack();
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

  it('answers 503 naming the dependencies once the emulator is gone, and stops cleanly on SIGTERM', async () => {
    const pid = stack.outputs.EmulatorPid;
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const response = await fetch(`${stack.outputs.ApiUrl}/health/ready`);
    const body = (await response.json()) as { detail: string; checks: Record<string, { status: string }> };
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(body.detail).toContain('dynamodb');
    expect(body.checks.dynamodb?.status).toBe('down');

    const full = await fetch(`${stack.outputs.ApiUrl}/health`);
    expect(full.status).toBe(503);
    expect(((await full.json()) as { checks: Record<string, { status: string }> }).checks.eventbridge?.status).toBe('down');
    // Live calls no dependency, so it stays up.
    const live = await fetch(`${stack.outputs.ApiUrl}/health/live`);
    expect({ status: live.status, body: await live.json() }).toEqual({ status: 200, body: { status: 'ok' } });

    expect(await stack.stop()).toBe(0);
    expect(alive(pid)).toBe(false);
  }, 30_000);
});

describe('npm start, stopped while healthy', () => {
  it('leaves no emulator process behind after Ctrl-C (SIGINT)', async () => {
    const healthy = await spawnStartedStack();
    const pid = healthy.outputs.EmulatorPid;
    expect(alive(pid)).toBe(true);
    expect(await healthy.stop('SIGINT')).toBe(0);
    expect(alive(pid)).toBe(false);
  }, 60_000);
});
