// Child process of bench/cold-load.ts: imports one bundle (argv[2], a file URL) the way the
// Lambda runtime would, then, given a request (argv[3], a JSON file: { event, functionName }),
// invokes its handler once, as the runtime does right after a cold start. Prints one JSON line
// with how long each took and the heap after. Plain JavaScript run by plain `node`, so nothing
// but the bundle is loaded before the clock.
import { readFileSync } from 'node:fs';

const request = process.argv[3] === undefined ? undefined : JSON.parse(readFileSync(process.argv[3], 'utf8'));
const started = process.hrtime.bigint();
const loaded = await import(process.argv[2]);
const imported = process.hrtime.bigint();
const handler = loaded.handler ?? loaded.default?.handler;
if (typeof handler !== 'function') {
  console.error(`no handler exported by ${process.argv[2]}`);
  process.exit(1);
}
const sinceStartMs = process.uptime() * 1000;
const cpuImported = process.cpuUsage();
const memory = process.memoryUsage();
let coldMs;
let firstStatus;
if (request !== undefined) {
  // The context the Node.js runtime passes (the fields these handlers read), 10 s timeout.
  const deadline = Date.now() + 10_000;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: request.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${request.functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c0ffee00-0000-4000-8000-000000000001',
    logGroupName: `/aws/lambda/${request.functionName}`,
    logStreamName: '2026/01/01/[$LATEST]bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const result = await handler(request.event, context);
  coldMs = Number(process.hrtime.bigint() - started) / 1e6;
  firstStatus = result?.statusCode ?? result?.$metadata?.httpStatusCode;
}
const cpu = process.cpuUsage();
console.log(
  JSON.stringify({
    importMs: Number(imported - started) / 1e6,
    sinceStartMs,
    // CPU time of the whole process so far (all threads), less sensitive than wall time
    // to waiting for a core on a busy machine.
    cpuMs: (cpuImported.user + cpuImported.system) / 1000,
    // Import and first request together, wall and CPU (the first request pays for what the
    // import left for later: lazy loading, first-use compilation, the first connection).
    ...(request === undefined
      ? {}
      : { coldMs, coldCpuMs: (cpu.user + cpu.system) / 1000, firstStatus }),
    heapUsed: memory.heapUsed,
    rss: memory.rss,
  }),
);
// Keep-alive sockets to the stand-in endpoint would hold the process open.
process.exit(0);
