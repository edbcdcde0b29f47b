/**
 * Every Lambda function's production bundle (the options of `ServiceFunction`, through
 * bench/bundles.ts), with esbuild's metafile: what each weighs and which packages the weight
 * comes from. Read by `npm run bench` (the bundle rows) and by
 * test/infra/bundle-budget.test.ts (the budget).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { productionOptions } from './bundles.ts';
import { repoRoot } from '#local/paths';


/**
 * The budget every function bundle must stay under (minified JS, source map excluded). The
 * issue's target is 600 KiB; with zod/mini the largest is about 500 KiB, and the budget keeps
 * most of that gain from creeping back.
 */
export const bundleBudgetBytes = 550 * 1024;

/** Every module under functions/ that exports a Lambda handler: one function each. */
export function functionEntries(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) found.push(path.relative(repoRoot, full));
    }
  };
  walk(path.join(repoRoot, 'functions'));
  return found.sort();
}

export interface FunctionBundle {
  entry: string;
  file: string;
  /** The bundle's size as esbuild's metafile reports it (minified JS, map excluded). */
  jsBytes: number;
  /** esbuild's metafile of the build, for checks on what went in. */
  metafile: Metafile;
  /** Bytes each input file contributes to the output (files tree-shaken away are absent). */
  inputBytes: Map<string, number>;
  /** Bytes in the output by package (`zod`, `@aws-sdk/client-dynamodb`, `(own code)`). */
  byPackage: Map<string, number>;
}

/** The package a metafile input path belongs to, or `(own code)`. */
export function packageOf(input: string): string {
  const marker = 'node_modules/';
  const at = input.lastIndexOf(marker);
  if (at < 0) return '(own code)';
  const rest = input.slice(at + marker.length).split('/');
  return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? input);
}

function outputOf(metafile: Metafile, outfile: string): Metafile['outputs'][string] | undefined {
  return Object.entries(metafile.outputs).find(([name]) => path.resolve(repoRoot, name) === path.resolve(outfile))?.[1];
}

function byPackage(metafile: Metafile, outfile: string): Map<string, number> {
  const output = outputOf(metafile, outfile);
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input);
    sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
  }
  return sizes;
}

/** Builds one entry with the production options into `outRoot/<entry without .ts>/`. */
export async function buildFunction(entry: string, outRoot: string): Promise<FunctionBundle> {
  const outdir = path.join(outRoot, entry.replace(/\.ts$/, ''));
  rmSync(outdir, { recursive: true, force: true });
  const options = productionOptions(path.join(repoRoot, entry), outdir);
  const result = await build({ ...options, absWorkingDir: repoRoot });
  const file = options.outfile ?? '';
  const metafile = result.metafile ?? { inputs: {}, outputs: {} };
  const output = outputOf(metafile, file);
  const inputBytes = new Map(
    Object.entries(output?.inputs ?? {})
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([input, { bytesInOutput }]) => [input, bytesInOutput]),
  );
  return { entry, file, jsBytes: output?.bytes ?? statSync(file).size, metafile, inputBytes, byPackage: byPackage(metafile, file) };
}

/** Every function's bundle, built one after the other (esbuild is quick; the machine is shared). */
export async function buildAllFunctions(outRoot: string): Promise<FunctionBundle[]> {
  const bundles: FunctionBundle[] = [];
  for (const entry of functionEntries()) bundles.push(await buildFunction(entry, outRoot));
  return bundles;
}
