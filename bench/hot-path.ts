/**
 * Hot path, run in a child process (`node --import tsx bench/hot-path.ts`) so that each
 * configuration gets a fresh process and its stdout (Powertools' EMF lines when metrics are
 * on) can be discarded. Invokes the wrapped get-live handler, which calls nothing, and a bare
 * async function returning the same response, in alternating blocks, timing every call, and
 * sends the samples to the parent over IPC. Events and contexts are built outside the clock.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';

export interface HotPathRequest {
  callsPerFunction: number;
  warmupCalls: number;
  blocks: number;
}

export interface HotPathSamples {
  /** Nanoseconds per call, and per block (calls / block time gives ops/s). */
  bare: { callNs: number[]; blockNs: number[] };
  factory: { callNs: number[]; blockNs: number[] };
  /** Median cost of the `hrtime.bigint()` pair around each call, with nothing between. */
  timerOverheadNs: number;
}

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const bare: Handler = async () => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ status: 'ok' }),
});

function requests(count: number): [APIGatewayProxyEvent, Context][] {
  return Array.from({ length: count }, () => [apiGatewayEvent({ method: 'GET', path: '/health/live' }), lambdaContext()]);
}

async function block(handler: Handler, count: number, into?: { callNs: number[]; blockNs: number[] }): Promise<void> {
  const batch = requests(count);
  const blockStart = process.hrtime.bigint();
  for (const [event, context] of batch) {
    const start = process.hrtime.bigint();
    const response = await handler(event, context);
    const end = process.hrtime.bigint();
    if (response.statusCode !== 200) throw new Error(`unexpected status ${response.statusCode}: ${response.body}`);
    into?.callNs.push(Number(end - start));
  }
  into?.blockNs.push(Number(process.hrtime.bigint() - blockStart));
}

function timerOverhead(): number {
  const samples: number[] = [];
  for (let index = 0; index < 10_000; index += 1) {
    const start = process.hrtime.bigint();
    samples.push(Number(process.hrtime.bigint() - start));
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1] ?? 0;
}

async function measure(request: HotPathRequest): Promise<HotPathSamples> {
  const { handler } = (await import('#functions/health/get-live')) as { handler: Handler };
  await block(bare, request.warmupCalls);
  await block(handler, request.warmupCalls);
  const samples: HotPathSamples = {
    bare: { callNs: [], blockNs: [] },
    factory: { callNs: [], blockNs: [] },
    timerOverheadNs: timerOverhead(),
  };
  const perBlock = Math.ceil(request.callsPerFunction / request.blocks);
  for (let index = 0; index < request.blocks; index += 1) {
    // Alternate which goes first, so neither always runs right after the other's garbage.
    const order: ['bare' | 'factory', Handler][] = [
      ['bare', bare],
      ['factory', handler],
    ];
    if (index % 2 === 1) order.reverse();
    for (const [name, fn] of order) await block(fn, perBlock, samples[name]);
  }
  return samples;
}

process.once('message', (message) => {
  measure(message as HotPathRequest).then(
    (samples) => process.send?.(samples, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
