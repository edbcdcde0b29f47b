/**
 * The emulator frozen past every timeout while writes are in flight, over real HTTP against
 * `npm start` (its own process and emulator): API.md, "Failure means nothing committed".
 * After the emulator resumes, every write must be one of
 * - answered 2xx, and its revision is in the history;
 * - refused (4xx, or 503 `unavailable`), and its change is absent from the history;
 * - answered 503 `outcome-unknown` (either is allowed);
 * with no 500 and no ghost commit (refused, yet committed). The figures are printed.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mintLocalToken } from '#local/token';
import { spawnStartedStack, type StartedStack } from '#test/support/local-stack';

const WRITERS = 12;
/** Past the local functions' 25 s timeout and the gateway's 29 s, so every in-flight write has to give an answer. */
const FREEZE_MS = 35_000;

let stack: StartedStack;
let token: string;
const tenant = `freeze-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await spawnStartedStack();
  token = await mintLocalToken({ tenant, scope: 'routes:read routes:write' });
}, 90_000);

afterAll(async () => {
  try {
    process.kill(stack.outputs.EmulatorPid, 'SIGCONT');
  } catch {
    // Already running, or gone.
  }
  await stack.stop();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.outputs.ApiUrl}/v1/tenants/${tenant}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(90_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

const routeOf = (index: number): string => `/routes/svc-${index}/prod`;

describe('writes while the emulator is frozen', () => {
  it('answers every write honestly: no 500, no ghost commit', async () => {
    for (let index = 0; index < WRITERS; index += 1) {
      const created = await call('PUT', `${routeOf(index)}/versions/v1`, { url: `https://v1-${index}.example.com`, weight: 100 });
      expect(created.status).toBe(201);
    }

    const pid = stack.outputs.EmulatorPid;
    const writes = Array.from({ length: WRITERS }, (_, index) => {
      const correlationId = `frozen-write-${index}-${randomUUID().slice(0, 8)}`;
      // Staggered so that some are mid-transaction when the freeze comes, some not yet sent.
      const answer = new Promise((resolve) => setTimeout(resolve, index * 15)).then(() =>
        call('PATCH', `${routeOf(index)}/versions/v1`, { weight: 1000 + index }, { 'X-Request-Id': correlationId }),
      );
      return { index, correlationId, answer };
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    process.kill(pid, 'SIGSTOP');
    let answers: Awaited<(typeof writes)[number]['answer']>[];
    try {
      const frozenFor = new Promise((resolve) => setTimeout(resolve, FREEZE_MS));
      answers = await Promise.all(writes.map((write) => write.answer));
      await frozenFor;
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Let whatever the emulator had queued land before reading the history.
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const figures = { answered2xx: 0, refused: 0, outcomeUnknown: 0, serverErrors: 0, ghostCommits: 0, lostCommits: 0 };
    for (const write of writes) {
      const answer = answers[write.index];
      if (answer === undefined) throw new Error('missing answer');
      const history = await call('GET', `${routeOf(write.index)}/revisions?limit=100`);
      expect(history.status).toBe(200);
      const items = (history.body?.items ?? []) as { correlationId?: string }[];
      const committed = items.some((item) => item.correlationId === write.correlationId);
      const type = String(answer.body?.type ?? '');
      if (answer.status >= 200 && answer.status < 300) {
        figures.answered2xx += 1;
        if (!committed) figures.lostCommits += 1;
      } else if (answer.status === 503 && type.endsWith('/outcome-unknown')) {
        figures.outcomeUnknown += 1;
      } else {
        if (answer.status >= 500 && answer.status !== 503) {
          figures.serverErrors += 1;
          console.log(`server error for ${write.correlationId}: ${answer.status} ${JSON.stringify(answer.body)}`);
          if (process.env.TM_DEBUG_FILE) appendFileSync(process.env.TM_DEBUG_FILE, `${answer.status} ${JSON.stringify(answer.body)}\n`);
        }
        figures.refused += 1;
        if (committed) figures.ghostCommits += 1;
      }
    }
    console.log(`frozen emulator (${FREEZE_MS / 1000} s, ${WRITERS} writes): ${JSON.stringify(figures)}`);
    expect(figures.serverErrors).toBe(0);
    expect(figures.ghostCommits).toBe(0);
    expect(figures.lostCommits).toBe(0);
    expect(figures.answered2xx + figures.refused + figures.outcomeUnknown).toBe(WRITERS);
    // The freeze outlasted every timeout: not every write can have been answered 2xx.
    expect(figures.answered2xx).toBeLessThan(WRITERS);
  }, 180_000);
});
