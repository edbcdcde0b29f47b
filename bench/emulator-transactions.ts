/**
 * The local emulator's TransactWriteItems as the table grows: our launcher (an undo log of
 * the items a transaction names) against moto's own whole-table backup (`--moto-transactions`),
 * both started here, fed the same route-sized transactions in interleaved rounds.
 */
import { execFileSync } from 'node:child_process';
import { CreateTableCommand, DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { startEmulator, type Emulator } from '#local/emulator';
import { createTableInput } from '#local/provision';

export interface TransactionRound {
  /** Items in the table after the round. */
  items: number;
  msPerTransaction: number;
  rssMiB: number;
}

export interface TransactionSeries {
  label: string;
  rounds: TransactionRound[];
}

function rssMiB(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

/** A route item and its revision item, about 2 KB each, as the registry writes them. */
function routeTransaction(tableName: string, n: number): TransactWriteItemsCommand {
  const body = { S: JSON.stringify({ versions: { v1: { url: `https://v1.example.com/${'p'.repeat(1900)}` } } }) };
  const pk = { S: `T#bench#R#svc${n}#prod` };
  return new TransactWriteItemsCommand({
    TransactItems: [
      {
        Put: {
          TableName: tableName,
          Item: { PK: pk, SK: { S: 'ROUTE' }, GSI1PK: { S: 'T#bench' }, GSI1SK: { S: `R#svc${n}` }, body },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        Put: {
          TableName: tableName,
          Item: { PK: pk, SK: { S: 'REV#0000000001' }, body },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
    ],
  });
}

export async function measureEmulatorTransactions(rounds: number, perRound: number): Promise<TransactionSeries[]> {
  const contenders: { label: string; emulator: Emulator; client: DynamoDBClient; written: number; series: TransactionRound[] }[] = [];
  for (const [label, launcherArgs] of [
    ["moto's whole-table backup (baseline)", ['--moto-transactions']],
    ['our launcher: undo log', []],
  ] as const) {
    const emulator = await startEmulator({ launcherArgs });
    const client = new DynamoDBClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    await client.send(new CreateTableCommand(createTableInput('bench-routes')));
    contenders.push({ label, emulator, client, written: 0, series: [] });
  }
  try {
    for (let round = 0; round < rounds; round += 1) {
      // Interleaved, so that machine noise falls on both alike.
      for (const contender of contenders) {
        const started = performance.now();
        for (let i = 0; i < perRound; i += 1) {
          contender.written += 1;
          await contender.client.send(routeTransaction('bench-routes', contender.written));
        }
        contender.series.push({
          items: contender.written * 2,
          msPerTransaction: (performance.now() - started) / perRound,
          rssMiB: rssMiB(contender.emulator.pid),
        });
      }
    }
  } finally {
    for (const contender of contenders) {
      contender.client.destroy();
      await contender.emulator.stop();
    }
  }
  return contenders.map(({ label, series }) => ({ label, rounds: series }));
}
