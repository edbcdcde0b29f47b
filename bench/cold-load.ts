/**
 * Cold load: each sample is a fresh `node` process (the one running this benchmark, Node 24)
 * that imports one bundle and reports the import time, the time since its own start and the
 * heap used afterwards (bench/load-bundle.mjs). Variants are interleaved in a new random order
 * every round, so drift on the shared machine spreads over all of them alike.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BuiltBundle } from './bundles.ts';
import { handlerEnvironment } from './environment.ts';
import { shuffle } from './stats.ts';

const run = promisify(execFile);
const loader = path.join(import.meta.dirname, 'load-bundle.mjs');

export interface LoadSample {
  importMs: number;
  sinceStartMs: number;
  cpuMs: number;
  heapUsed: number;
  rss: number;
}

export interface LoadTarget {
  key: string;
  bundle: BuiltBundle;
}

async function loadOnce(bundle: BuiltBundle): Promise<LoadSample> {
  const { stdout } = await run(process.execPath, [loader, pathToFileURL(bundle.file).href], {
    env: handlerEnvironment(bundle.variant.nodeOptions),
    timeout: 30_000,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as LoadSample;
}

/**
 * Loads every target `rounds` times, one process at a time, after `warmup` discarded rounds
 * (page cache, first-run effects). Returns the samples per target key.
 */
export async function measureColdLoads(
  targets: readonly LoadTarget[],
  rounds: number,
  warmup: number,
  onRound: (round: number) => void,
): Promise<Map<string, LoadSample[]>> {
  const samples = new Map<string, LoadSample[]>(targets.map((target) => [target.key, []]));
  for (let round = 0; round < warmup + rounds; round += 1) {
    for (const target of shuffle([...targets])) {
      const sample = await loadOnce(target.bundle);
      if (round >= warmup) samples.get(target.key)?.push(sample);
    }
    onRound(round - warmup + 1);
  }
  return samples;
}
