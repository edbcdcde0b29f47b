/**
 * `npm start`: the whole system on this machine. Starts the emulator, provisions what the
 * CDK stack declares, serves every endpoint of the endpoint table over HTTP as API Gateway
 * would, plays the event source mapping, writes .local/outputs.json, and behaves like a
 * service (API.md, "Local stack"):
 *
 * - SIGINT or SIGTERM stops everything it started, API first, emulator last, and removes
 *   outputs.json. The npm script `exec`s tsx, so a signal sent to npm alone reaches us:
 *   through `sh -c` it did not (npm died on SIGTERM, and sh sat on SIGINT, leaving the
 *   stack running). The processes that launched this one are watched too: when one of them
 *   is gone (npm killed outright, say), the stack stops as if it had been signalled.
 * - If the emulator dies, that is said in one line; the API keeps answering for a short
 *   grace period (live 200, ready 503 naming the dependency, for whoever probes it), then
 *   the process exits with status 1.
 * - A busy port is one line on stderr and status 1, not a stack trace.
 *
 * Environment: PORT (default 3000); LOCAL_THROTTLE=off lifts the local throttles (load
 * tests); LOCAL_EVENTS_RETRY_ATTEMPTS and LOCAL_EVENTS_MAX_RECORD_AGE_SECONDS override the
 * mapping's limits (fault tests; default: the deployed mapping's); TM_LOCAL_DIR moves
 * outputs.json; LOCAL_EMULATOR_EXIT_GRACE_MS (default 5000).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { localNames } from '#infra/resources';
import { startEmulator } from './emulator.ts';
import { localFunctionEnvironment } from './environment.ts';
import { launcherPids, watchProcesses } from './launchers.ts';
import { localDir as defaultLocalDir } from './paths.ts';
import { assertPortFree, PortInUseError } from './port.ts';
import { provision } from './provision.ts';
import { startStreamPoller } from './stream-poller.ts';

const port = Number(process.env.PORT ?? 3000);
/** Where outputs.json goes; tests point it elsewhere so they never touch a developer's. */
const localDir = process.env.TM_LOCAL_DIR ?? defaultLocalDir;
const outputsFile = path.join(localDir, 'outputs.json');
const throttle = process.env.LOCAL_THROTTLE !== 'off';
const emulatorExitGraceMs = Number(process.env.LOCAL_EMULATOR_EXIT_GRACE_MS ?? 5_000);

/** A mapping limit from the environment (a whole number, -1 for none), or the definition's. */
function mappingOverride(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw new Error(`${name} must be a whole number (-1: no limit), not ${JSON.stringify(value)}`);
  return Number(value);
}

async function main(): Promise<void> {
  // What a stop undoes grows as things start; one stop for the process's whole life.
  const started: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      for (const stop of started.reverse()) {
        await stop().catch((error: unknown) => console.error(`traffic-manager: while stopping: ${String(error)}`));
      }
      process.exit(code);
    }
    return new Promise<never>(() => undefined);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGHUP', () => void stopAll(0));
  const launchers = await launcherPids();
  const watcher = watchProcesses(launchers, (pid) => {
    if (stopping) return;
    console.error(`traffic-manager: the process that started it (pid ${pid}) is gone; stopping.`);
    void stopAll(0);
  });
  started.push(async () => watcher.stop());

  try {
    await assertPortFree(port);
    const emulator = await startEmulator();
    started.push(() => emulator.stop());
    void emulator.exited.then(({ code, signal }) => {
      if (stopping) return;
      console.error(
        `traffic-manager: the AWS emulator (pid ${emulator.pid}) exited (${signal ?? `status ${code}`}); /health/ready answers 503; stopping with status 1 in ${emulatorExitGraceMs} ms.`,
      );
      setTimeout(() => void stopAll(1), emulatorExitGraceMs);
    });

    const resources = await provision({ endpoint: emulator.endpoint, ...localNames });
    // The functions read their configuration at import, so it is set before any handler loads.
    Object.assign(process.env, localFunctionEnvironment(emulator.endpoint));
    // Imported only now: the shared modules build Powertools and clients at import.
    const { startLocalServer } = await import('./server.ts');
    const server = await startLocalServer({ port, throttle });
    started.push(() => server.close());

    // The event source mapping: the table's stream to the publisher, which puts on the bus.
    const { handler: publishRouteEvents } = await import('../functions/events/publish-route-events.ts');
    let lastError = '';
    const retryAttempts = mappingOverride('LOCAL_EVENTS_RETRY_ATTEMPTS');
    const maxRecordAgeSeconds = mappingOverride('LOCAL_EVENTS_MAX_RECORD_AGE_SECONDS');
    const poller = startStreamPoller({
      endpoint: emulator.endpoint,
      region: localNames.region,
      streamArn: resources.TableStreamArn,
      handler: publishRouteEvents,
      mapping: {
        ...(retryAttempts === undefined ? {} : { retryAttempts }),
        ...(maxRecordAgeSeconds === undefined ? {} : { maxRecordAgeSeconds }),
      },
      deadLetterQueueUrl: resources.PublisherDeadLetterQueueUrl,
      onGiveUp: ({ requestContext, DDBStreamBatchInfo: batch }) =>
        console.error(
          `event publisher gave up on ${batch.batchSize} stream record(s) ${batch.startSequenceNumber}..${batch.endSequenceNumber} (${requestContext.condition}); they are in the dead-letter queue: npm run events -- redrive`,
        ),
      onError: (error) => {
        // Once per distinct error: a stopped emulator would otherwise log every second.
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (message !== lastError) console.error(`event publisher: ${message}`);
        lastError = message;
      },
    });
    started.push(() => poller.stop());

    const outputs = {
      ApiUrl: server.url,
      AwsEndpoint: emulator.endpoint,
      /** For operators and tests: the emulator process this stack started and will stop. */
      EmulatorPid: emulator.pid,
      Region: localNames.region,
      TableName: resources.TableName,
      TableStreamArn: resources.TableStreamArn,
      EventBusName: resources.EventBusName,
      EventBusArn: resources.EventBusArn,
      TapQueueUrl: resources.TapQueueUrl,
      RouteChangesQueueUrl: resources.RouteChangesQueueUrl,
      PublisherDeadLetterQueueUrl: resources.PublisherDeadLetterQueueUrl,
    };
    await mkdir(localDir, { recursive: true });
    await writeFile(outputsFile, `${JSON.stringify(outputs, null, 2)}\n`);
    // Outputs describe a running stack: they go when it does (first on the way down).
    started.push(() => rm(outputsFile, { force: true }));

    console.log(`traffic-manager is up
  API:          ${server.url}   (try ${server.url}/health/ready)${throttle ? '' : '   (throttles off)'}
  AWS emulator: ${emulator.endpoint}   (region ${localNames.region})
  outputs:      ${outputsFile.startsWith(process.cwd()) ? path.relative(process.cwd(), outputsFile) : outputsFile}
  token:        npm run -s token -- --tenant acme --scope "routes:read routes:write resolve audit:read"
  events:       npm run events
Press Ctrl-C to stop.`);
  } catch (error) {
    if (stopping) return;
    if (error instanceof PortInUseError) console.error(`traffic-manager: ${error.message}`);
    else console.error('traffic-manager failed to start:', error instanceof Error ? error.message : error);
    await stopAll(1);
  }
}

void main();
