/**
 * What the tenant sequence costs: every commit of a tenant advances one sequence item in
 * the same transaction, so a tenant's writes are serialised. Eight writers commit through
 * the one write path (shared/store/commit-change.ts) on eight routes, either of eight
 * different tenants (no shared sequence: the baseline) or of one tenant (one sequence), in
 * interleaved rounds against one emulator started here. Run alone with
 * `npx tsx bench/tenant-sequence.ts`; `npm run bench` prints it as a section.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startEmulator } from '#local/emulator';
import { localFunctionEnvironment } from '#local/environment';
import { createTableInput } from '#local/provision';

export interface SequenceCost {
  /** Commits per second, eight writers on eight routes of eight tenants. */
  separateTenants: number;
  /** Commits per second, eight writers on eight routes of one tenant. */
  oneTenant: number;
  /** Lost races (retried) per commit, for one tenant. */
  retriesPerCommit: number;
}

const WRITERS = 8;

export async function measureTenantSequence(rounds = 3, commitsPerWriter = 15): Promise<SequenceCost> {
  const emulator = await startEmulator();
  const tableName = `bench-sequence-${randomUUID().slice(0, 8)}`;
  Object.assign(process.env, localFunctionEnvironment(emulator.endpoint), { TABLE_NAME: tableName, POWERTOOLS_METRICS_DISABLED: 'true' });
  const admin = new DynamoDBClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await admin.send(new CreateTableCommand(createTableInput(tableName)));
  // Imported once the environment names the emulator: clients are created at import.
  const { commitChange } = await import('#shared/store/commit-change');
  const { patchVersion, putVersion } = await import('#shared/domain/route-changes');
  const { transactionClient } = await import('#shared/clients/dynamodb');
  let transactions = 0;
  transactionClient.middlewareStack.add(
    (next) => async (args) => {
      transactions += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countTransactions' },
  );
  let sharedTransactions = 0;
  const context = (tenant: string, service: string) => ({
    key: { tenant, service, env: 'prod' },
    actor: 'bench',
    requestId: randomUUID(),
    preconditions: {},
    deadline: Date.now() + 30_000,
  });
  async function run(tenantOf: (writer: number) => string): Promise<number> {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        const tenant = tenantOf(writer);
        const service = `svc-${writer}`;
        await commitChange(context(tenant, service), putVersion('v1', { url: 'https://v1.example.com', weight: 1, state: 'active' }));
        for (let commit = 1; commit < commitsPerWriter; commit += 1) {
          await commitChange(context(tenant, service), patchVersion('v1', { weight: commit + 1 }));
        }
      }),
    );
    return (WRITERS * commitsPerWriter) / ((performance.now() - started) / 1000);
  }

  const separate: number[] = [];
  const shared: number[] = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      separate.push(await run((writer) => `bench-${round}-own-${writer}`));
      const before = transactions;
      shared.push(await run(() => `bench-${round}-shared`));
      sharedTransactions += transactions - before;
    }
  } finally {
    admin.destroy();
    await emulator.stop();
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  return {
    separateTenants: median(separate),
    oneTenant: median(shared),
    // Every transaction beyond one per commit is a lost race, retried.
    retriesPerCommit: sharedTransactions / (rounds * WRITERS * commitsPerWriter) - 1,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cost = await measureTenantSequence();
  // `npm run bench` runs this in a process of its own and reads the figures.
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(cost)}\n`);
    process.exit(0);
  }
  console.log(
    `tenant sequence: 8 writers on 8 routes: ${cost.separateTenants.toFixed(0)} commits/s across 8 tenants, ` +
      `${cost.oneTenant.toFixed(0)} commits/s in one tenant (${(cost.oneTenant / cost.separateTenants).toFixed(2)}x), ` +
      `${cost.retriesPerCommit.toFixed(2)} retries per commit`,
  );
}
