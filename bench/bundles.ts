/**
 * The bundle variants the cold-load benchmark compares. `productionOptions` mirrors what
 * `ServiceFunction` (infra/constructs/service-function.ts) makes `NodejsFunction` pass to
 * esbuild: `--bundle --platform=node --target=node24 --format=esm --minify --sourcemap=external
 * --sources-content=false --main-fields=module,main --banner:js=<createRequire banner>`, no
 * externals, output `index.mjs`. Each variant changes exactly one of those choices.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { bundlingAliasTargets, esmRequireBanner } from '#infra/constructs/service-function';

export interface Variant {
  id: string;
  /** What differs from production, for the table. */
  label: string;
  /** The production choice this variant undoes, for the conclusion; undefined for baselines. */
  productionChoice?: string;
  /** Changes to the production esbuild options. */
  options: (production: BuildOptions) => BuildOptions;
  /** Loads the same bundle as another variant (so it is built once); the load flags differ. */
  sameBundleAs?: string;
  /** NODE_OPTIONS of the loading process; production sets `--enable-source-maps`. */
  nodeOptions: string;
}

export const productionNodeOptions = '--enable-source-maps';

export function productionOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    outfile: path.join(outdir, 'index.mjs'),
    minify: true,
    // A map beside the bundle (in the asset, for decoding stack traces offline) but not linked
    // from it, so Node never reads it at cold start; see the source-map rows of the bench.
    sourcemap: 'external',
    sourcesContent: false,
    mainFields: ['module', 'main'],
    external: [],
    banner: { js: esmRequireBanner },
    alias: { ...bundlingAliasTargets },
    metafile: true,
    logLevel: 'warning',
  };
}

export const baselineId = 'a';
/** The production bundle loaded again as if it were another variant: the run's noise floor. */
export const repeatId = 'a2';

export const variants: readonly Variant[] = [
  { id: baselineId, label: 'production (ESM, minified, external map, module-first, SDK bundled)', options: (o) => o, nodeOptions: productionNodeOptions },
  { id: repeatId, label: 'production again (A/A: noise floor)', options: (o) => o, sameBundleAs: baselineId, nodeOptions: productionNodeOptions },
  {
    id: 'b',
    label: 'CJS instead of ESM',
    productionChoice: 'ESM output (vs CJS)',
    // The createRequire banner is ESM-only (import.meta); a CJS bundle has `require` already.
    options: ({ banner: _banner, ...o }) => ({ ...o, format: 'cjs', outfile: (o.outfile ?? '').replace(/\.mjs$/, '.cjs') }),
    nodeOptions: productionNodeOptions,
  },
  { id: 'c', label: 'not minified', productionChoice: 'minify (vs not)', options: (o) => ({ ...o, minify: false }), nodeOptions: productionNodeOptions },
  {
    id: 'd',
    label: "mainFields ['main','module'] (CJS-first)",
    productionChoice: "mainFields ['module','main'] (vs CJS-first)",
    options: (o) => ({ ...o, mainFields: ['main', 'module'] }),
    nodeOptions: productionNodeOptions,
  },
  {
    id: 'e',
    label: '@aws-sdk/* external (from node_modules, as from the runtime)',
    productionChoice: 'SDK bundled (vs taken from the runtime)',
    options: (o) => ({ ...o, external: ['@aws-sdk/*'] }),
    nodeOptions: productionNodeOptions,
  },
  { id: 'f1', label: 'no source map', productionChoice: 'an unlinked map in the asset (vs none)', options: (o) => ({ ...o, sourcemap: false }), nodeOptions: productionNodeOptions },
  {
    id: 'f3',
    label: 'linked source map, read by --enable-source-maps (as before)',
    productionChoice: 'an unlinked map (vs a linked one that Node reads at import)',
    options: (o) => ({ ...o, sourcemap: true }),
    nodeOptions: productionNodeOptions,
  },
  { id: 'f2', label: 'inline source map', productionChoice: 'an unlinked map (vs inline)', options: (o) => ({ ...o, sourcemap: 'inline' }), nodeOptions: productionNodeOptions },
  {
    id: 'h',
    label: "Powertools' tracer (and the X-Ray SDK) replaced by a no-op",
    productionChoice: 'tracing with Powertools and the X-Ray SDK (vs none)',
    options: (o) => ({
      ...o,
      alias: {
        ...o.alias,
        '@aws-lambda-powertools/tracer/middleware': path.join(standIns, 'no-op-tracer-middleware.mjs'),
        '@aws-lambda-powertools/tracer': path.join(standIns, 'no-op-tracer.mjs'),
      },
    }),
    nodeOptions: productionNodeOptions,
  },
  {
    id: 'g',
    label: 'production bundle, loaded without --enable-source-maps',
    productionChoice: 'NODE_OPTIONS=--enable-source-maps (vs unset)',
    options: (o) => o,
    sameBundleAs: baselineId,
    nodeOptions: '',
  },
];

const standIns = path.join(import.meta.dirname, 'stand-ins');

export interface BuiltBundle {
  variant: Variant;
  file: string;
  jsBytes: number;
  jsGzipBytes: number;
  /** The separate `.map` file, 0 when there is none (inline or no map). */
  mapBytes: number;
  /** gzip of JS + map: a proxy for the deployment asset (the zip holds both). */
  assetGzipBytes: number;
}

/** Builds the variants of one handler (all, or those in `ids`) into `outdir/<variant id>/`. */
export async function buildVariants(entry: string, outdir: string, ids?: readonly string[]): Promise<BuiltBundle[]> {
  const built = new Map<string, BuiltBundle>();
  for (const variant of variants.filter((candidate) => ids === undefined || ids.includes(candidate.id))) {
    const same = variant.sameBundleAs === undefined ? undefined : built.get(variant.sameBundleAs);
    if (same !== undefined) {
      built.set(variant.id, { ...same, variant });
      continue;
    }
    const dir = path.join(outdir, variant.id);
    rmSync(dir, { recursive: true, force: true });
    const options = variant.options(productionOptions(entry, dir));
    await build({ ...options, metafile: false });
    const file = options.outfile ?? '';
    const js = readFileSync(file);
    const mapFile = `${file}.map`;
    const map = options.sourcemap === true || options.sourcemap === 'external' ? readFileSync(mapFile) : Buffer.alloc(0);
    built.set(variant.id, {
      variant,
      file,
      jsBytes: statSync(file).size,
      jsGzipBytes: gzipSync(js).length,
      mapBytes: map.length,
      assetGzipBytes: gzipSync(js).length + (map.length > 0 ? gzipSync(map).length : 0),
    });
  }
  return [...built.values()];
}
