/**
 * `npm start`: the whole system on this machine. Starts the emulator, provisions what the
 * CDK stack declares, serves every endpoint of the endpoint table over HTTP as API Gateway
 * would, writes .local/outputs.json, and stops everything it started on Ctrl-C or SIGTERM.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { localNames } from '#infra/resources';
import { startEmulator } from './emulator.ts';
import { localFunctionEnvironment } from './environment.ts';
import { localDir as defaultLocalDir } from './paths.ts';
import { provision } from './provision.ts';
import { startStreamPoller } from './stream-poller.ts';

const port = Number(process.env.PORT ?? 3000);
/** Where outputs.json goes; tests point it elsewhere so they never touch a developer's. */
const localDir = process.env.TM_LOCAL_DIR ?? defaultLocalDir;

async function main(): Promise<void> {
  const emulator = await startEmulator();
  // What a signal stops grows as things start; one listener for the process's whole life.
  const started: (() => Promise<void>)[] = [() => emulator.stop()];
  let stopping = false;
  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const stop of started.reverse()) await stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const resources = await provision({ endpoint: emulator.endpoint, ...localNames });
    // The functions read their configuration at import, so it is set before any handler loads.
    Object.assign(process.env, localFunctionEnvironment(emulator.endpoint));
    // Imported only now: the shared modules build Powertools and clients at import.
    const { startLocalServer } = await import('./server.ts');
    const server = await startLocalServer({ port });
    started.push(() => server.close());

    // The event source mapping: the table's stream to the publisher, which puts on the bus.
    const { handler: publishRouteEvents } = await import('../functions/events/publish-route-events.ts');
    const { isRevisionInsert } = await import('../shared/events/publisher.ts');
    let lastError = '';
    const poller = startStreamPoller({
      endpoint: emulator.endpoint,
      region: localNames.region,
      streamArn: resources.TableStreamArn,
      handler: publishRouteEvents,
      filter: isRevisionInsert,
      onGiveUp: (records, reason) =>
        console.error(
          `event publisher gave up on ${records.length} stream record(s) from ${records[0]?.dynamodb?.SequenceNumber ?? '?'}: ${reason}`,
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
    };
    await mkdir(localDir, { recursive: true });
    await writeFile(path.join(localDir, 'outputs.json'), `${JSON.stringify(outputs, null, 2)}\n`);

    console.log(`traffic-manager is up
  API:          ${server.url}   (try ${server.url}/health/ready)
  AWS emulator: ${emulator.endpoint}   (region ${localNames.region})
  outputs:      .local/outputs.json
  token:        npm run -s token -- --tenant acme --scope "routes:read routes:write"
Press Ctrl-C to stop.`);
  } catch (error) {
    console.error('traffic-manager failed to start:', error);
    await stopAll(1);
  }
}

void main();
