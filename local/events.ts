/**
 * `npm run events`: watch and repair the local stack's route events, with the SDK and the
 * local outputs file (.local/outputs.json); no `aws` CLI, `jq` or credentials needed.
 *
 *   npm run events              prints every event arriving in the tap queue, one line each
 *   npm run events -- redrive   sends the publisher's dead-lettered records through it again
 *                               (local/event-tools.ts); exits 1 if any are left
 *   npm run events -- replay --tenant <t> --from <seq> [--to <seq>]
 *                               publishes that range of the tenant's history again, from the
 *                               revisions (eventIds unchanged); exits 1 if any failed
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { localFunctionEnvironment } from './environment.ts';
import { invocationContext } from './lambda-runtime.ts';
import { clientConfig, eventLine, redrive, type EmulatorAddress } from './event-tools.ts';
import { localDir as defaultLocalDir } from './paths.ts';

/** What this command needs from outputs.json. */
interface Outputs extends EmulatorAddress {
  TapQueueUrl: string;
  PublisherDeadLetterQueueUrl: string;
}

const localDir = process.env.TM_LOCAL_DIR ?? defaultLocalDir;

class UsageError extends Error {}

async function readOutputs(): Promise<Outputs> {
  const file = path.join(localDir, 'outputs.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`no ${file}: the local stack is not running (start it with npm start)`);
  }
  const parsed = JSON.parse(text) as Partial<Outputs>;
  const { AwsEndpoint, Region, TapQueueUrl, PublisherDeadLetterQueueUrl } = parsed;
  if (AwsEndpoint === undefined || Region === undefined || TapQueueUrl === undefined || PublisherDeadLetterQueueUrl === undefined) {
    throw new UsageError(`${file} lacks AwsEndpoint, Region, TapQueueUrl or PublisherDeadLetterQueueUrl: restart npm start`);
  }
  return { AwsEndpoint, Region, TapQueueUrl, PublisherDeadLetterQueueUrl };
}

async function tail(outputs: Outputs): Promise<void> {
  const sqs = new SQSClient(clientConfig(outputs));
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.error(`watching ${outputs.TapQueueUrl} (Ctrl-C to stop)`);
  while (!stopped) {
    let messages: Message[];
    try {
      ({ Messages: messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: outputs.TapQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
      ));
    } catch (error) {
      if (stopped) break;
      throw new UsageError(`the emulator at ${outputs.AwsEndpoint} does not answer (${String(error)}): is npm start still running?`);
    }
    for (const message of messages) {
      console.log(eventLine(message.Body ?? ''));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: outputs.TapQueueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  sqs.destroy();
}

const usage = 'usage: npm run events [-- redrive | replay --tenant <tenant> --from <seq> [--to <seq>]]';

/** `--tenant t --from 1 --to 9` as the replay function's request. */
function replayRequest(args: readonly string[]): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (value === undefined || !['--tenant', '--from', '--to'].includes(flag ?? '')) throw new UsageError(usage);
    const name = (flag ?? '').slice(2);
    request[name] = name === 'tenant' ? value : /^\d+$/.test(value) ? Number(value) : value;
  }
  return request;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command = 'tail', ...rest] = argv;
  if (!['tail', 'redrive', 'replay'].includes(command) || (command !== 'replay' && rest.length > 0)) {
    throw new UsageError(usage);
  }
  const request = command === 'replay' ? replayRequest(rest) : undefined;
  const outputs = await readOutputs();
  if (command === 'tail') {
    await tail(outputs);
    return 0;
  }
  // The functions, as the stack runs them: their configuration is read when imported.
  Object.assign(process.env, localFunctionEnvironment(outputs.AwsEndpoint), {
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  });
  if (request !== undefined) {
    const { handler: replay, ReplayRequestSchema } = await import('../functions/events/replay-route-events.ts');
    const parsed = ReplayRequestSchema.safeParse(request);
    if (!parsed.success) throw new UsageError(`${usage}\n${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n')}`);
    const report = await replay(parsed.data, invocationContext({ functionName: 'replay-route-events', timeoutMs: 900_000 }));
    console.log(`replayed seq ${parsed.data.from}..${report.through} of ${parsed.data.tenant}: ${report.published} published, ${report.failed.length} failed`);
    for (const failure of report.failed) console.log(`  seq ${failure.seq}: ${failure.reason}`);
    return report.failed.length === 0 ? 0 : 1;
  }
  const { handler } = await import('../functions/events/publish-route-events.ts');
  return (await redrive(outputs, outputs.PublisherDeadLetterQueueUrl, handler)) === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error);
    process.exit(1);
  },
);
