/**
 * The local stack in a child process, for the hot-path and HTTP rows: the emulator, the
 * provisioned table, and the local API server with its throttles lifted (`throttle: false`;
 * `LOCAL_THROTTLE=off npm start` does the same once local/ reads that switch). One route is
 * seeded through the API. Messages from the parent:
 *
 * - `start` → `{ url, resolvePath, authorization }` once serving.
 * - `hot` → per-call samples of three functions called in-process, in alternating blocks:
 *   a bare async function returning a small JSON response; the empty handler chain (get-live
 *   through `httpHandler`: tracer, logger, metrics, security headers, normaliser, request id,
 *   input, error mapper, a `run` that calls nothing); and the resolve handler with a bearer
 *   token, a distinct `?key=` per call and the route in the cache (warm).
 * - `stop` → stops the server and the emulator, then exits.
 *
 * The functions run with tracing off, so Powertools' tracer and its X-Ray SDK are not loaded
 * (shared/observability.ts), unless `BENCH_XRAY_HOOK=1` loads the SDK or `BENCH_TRACE_ON=1`
 * turns tracing on (below).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { localNames } from '#infra/resources';
import { startEmulator } from '#local/emulator';
import { localFunctionEnvironment } from '#local/environment';
import { deployedTracing } from './environment.ts';
import { provision } from '#local/provision';
import { mintLocalToken } from '#local/token';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';

export const benchTenant = 'bench';

export interface StackStarted {
  url: string;
  resolvePath: string;
  authorization: string;
}

export interface HotRequest {
  callsPerFunction: number;
  warmupCalls: number;
  blocks: number;
}

export interface HotSeries {
  callNs: number[];
  blockNs: number[];
}

export interface HotSamples {
  bare: HotSeries;
  chain: HotSeries;
  resolve: HotSeries;
  /** Median cost of the `hrtime.bigint()` pair around each call. */
  timerOverheadNs: number;
  /** Log lines the resolve handler wrote during the measured calls, per call. */
  resolveLogLinesPerCall: number;
}

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

type Message = { type: 'start' } | ({ type: 'hot' } & HotRequest) | { type: 'stop' };

/**
 * `BENCH_XRAY_HOOK=1`: the X-Ray SDK loaded first, as Powertools' tracer loads it where it
 * traces. Tracing stays off; what is measured is its cls-hooked async hook on every promise,
 * the part of a deployed function's tracing cost paid before any segment is written.
 */
if (process.env.BENCH_XRAY_HOOK === '1') await import('aws-xray-sdk-core');

/** `BENCH_TRACE_ON=1`: tracing on as in a deployed function (`deployedTracing`), set before the functions are imported. */

const emulator = await startEmulator();
let closeServer: (() => Promise<void>) | undefined;

async function start(): Promise<StackStarted> {
  await provision({ endpoint: emulator.endpoint, ...localNames });
  Object.assign(process.env, localFunctionEnvironment(emulator.endpoint), { LOG_LEVEL: 'INFO' });
  if (process.env.BENCH_TRACE_ON === '1') Object.assign(process.env, deployedTracing);
  const { startLocalServer } = await import('#local/server');
  const server = await startLocalServer({ port: 0, throttle: false });
  closeServer = () => server.close();
  const writer = `Bearer ${await mintLocalToken({ tenant: benchTenant, scope: 'routes:write' })}`;
  const body = {
    versions: {
      v1: { url: 'https://checkout-v1.bench.example', weight: 90, state: 'active' },
      v2: { url: 'https://checkout-v2.bench.example', weight: 10, state: 'active' },
    },
    defaultVersion: 'v1',
    rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
  };
  const put = await fetch(`${server.url}/v1/tenants/${benchTenant}/routes/checkout/prod`, {
    method: 'PUT',
    headers: { authorization: writer, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (put.status >= 300) throw new Error(`seeding the route failed: ${put.status} ${await put.text()}`);
  return {
    url: server.url,
    resolvePath: `/v1/tenants/${benchTenant}/resolve/checkout/prod`,
    authorization: `Bearer ${await mintLocalToken({ tenant: benchTenant, scope: 'resolve' })}`,
  };
}

const bare: Handler = async () => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ status: 'ok' }),
});

function timerOverhead(): number {
  const samples: number[] = [];
  for (let index = 0; index < 10_000; index += 1) {
    const start = process.hrtime.bigint();
    samples.push(Number(process.hrtime.bigint() - start));
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1] ?? 0;
}

async function hot(request: HotRequest, authorization: string): Promise<HotSamples> {
  const { handler: chain } = (await import('#functions/health/get-live')) as { handler: Handler };
  const { handler: resolveHandler } = (await import('#functions/resolve/resolve-route')) as { handler: Handler };
  let keyCounter = 0;
  const events: Record<'bare' | 'chain' | 'resolve', () => APIGatewayProxyEvent> = {
    bare: () => apiGatewayEvent({ method: 'GET', path: '/health/live' }),
    chain: () => apiGatewayEvent({ method: 'GET', path: '/health/live' }),
    resolve: () => {
      keyCounter += 1;
      return apiGatewayEvent({
        method: 'GET',
        path: `/v1/tenants/${benchTenant}/resolve/checkout/prod`,
        pathParameters: { tenant: benchTenant, service: 'checkout', env: 'prod' },
        resource: '/v1/tenants/{tenant}/resolve/{service}/{env}',
        headers: { Authorization: authorization },
        query: { key: `customer-${keyCounter}` },
      });
    },
  };
  const handlers: Record<'bare' | 'chain' | 'resolve', Handler> = { bare, chain, resolve: resolveHandler };

  // Count what the functions write to stdout (Powertools' logger) during measured resolve calls.
  let lines = 0;
  let counting = false;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (counting) lines += String(chunk).split('\n').filter((line) => line.trim() !== '').length;
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;

  async function block(name: 'bare' | 'chain' | 'resolve', count: number, into?: HotSeries): Promise<void> {
    const batch = Array.from({ length: count }, () => [events[name](), lambdaContext()] as const);
    const handler = handlers[name];
    counting = into !== undefined && name === 'resolve';
    const blockStart = process.hrtime.bigint();
    for (const [event, context] of batch) {
      const start = process.hrtime.bigint();
      const response = await handler(event, context);
      const end = process.hrtime.bigint();
      if (response.statusCode !== 200) throw new Error(`${name}: unexpected status ${response.statusCode}: ${response.body}`);
      into?.callNs.push(Number(end - start));
    }
    into?.blockNs.push(Number(process.hrtime.bigint() - blockStart));
    counting = false;
  }

  for (const name of ['bare', 'chain', 'resolve'] as const) await block(name, request.warmupCalls);
  const samples: HotSamples = {
    bare: { callNs: [], blockNs: [] },
    chain: { callNs: [], blockNs: [] },
    resolve: { callNs: [], blockNs: [] },
    timerOverheadNs: timerOverhead(),
    resolveLogLinesPerCall: 0,
  };
  const perBlock = Math.ceil(request.callsPerFunction / request.blocks);
  const order: ('bare' | 'chain' | 'resolve')[] = ['bare', 'chain', 'resolve'];
  for (let index = 0; index < request.blocks; index += 1) {
    // Rotate which goes first, so none always runs right after another's garbage.
    for (let offset = 0; offset < order.length; offset += 1) {
      const name = order[(index + offset) % order.length] ?? 'bare';
      await block(name, perBlock, samples[name]);
    }
  }
  process.stdout.write = write;
  samples.resolveLogLinesPerCall = lines / samples.resolve.callNs.length;
  return samples;
}

let started: StackStarted | undefined;
process.on('message', (message: Message) => {
  const reply = async (): Promise<unknown> => {
    if (message.type === 'start') {
      started = await start();
      return started;
    }
    if (message.type === 'hot') {
      if (started === undefined) throw new Error('hot before start');
      return hot(message, started.authorization);
    }
    await closeServer?.();
    await emulator.stop();
    process.exit(0);
  };
  reply().then(
    (result) => process.send?.(result),
    async (error: unknown) => {
      console.error(error);
      await emulator.stop();
      process.exit(1);
    },
  );
});
