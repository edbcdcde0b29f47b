// Child process of bench/cold-load.ts: imports one bundle (argv[2], a file URL) the way the
// Lambda runtime would, and prints one JSON line with how long that took and the heap after.
// Plain JavaScript run by plain `node`, so nothing but the bundle is loaded before the clock.
const started = process.hrtime.bigint();
const loaded = await import(process.argv[2]);
const imported = process.hrtime.bigint();
const handler = loaded.handler ?? loaded.default?.handler;
if (typeof handler !== 'function') {
  console.error(`no handler exported by ${process.argv[2]}`);
  process.exit(1);
}
const memory = process.memoryUsage();
const cpu = process.cpuUsage();
console.log(
  JSON.stringify({
    importMs: Number(imported - started) / 1e6,
    sinceStartMs: process.uptime() * 1000,
    // CPU time of the whole process so far (all threads), less sensitive than wall time
    // to waiting for a core on a busy machine.
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapUsed: memory.heapUsed,
    rss: memory.rss,
  }),
);
