/**
 * The bundle budget: every Lambda function's production bundle (the esbuild options of
 * `ServiceFunction`, built as bench/bundles.ts builds them) stays under the budget of
 * bench/function-bundles.ts, read from esbuild's metafile. Also pins what keeps them there:
 * zod/mini through shared/zod.ts and never classic zod, the English locale only, and the
 * bundling aliases of infra/constructs/service-function.ts (the environment-only credential
 * provider, semver's one function, node:http and node:process without ESM facades).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildAllFunctions, bundleBudgetBytes, functionEntries, packageOf, type FunctionBundle } from '../../bench/function-bundles.ts';
import { repoRoot } from '#local/paths';

const outRoot = path.join(repoRoot, 'node_modules', '.cache', 'traffic-manager-bundle-budget', String(process.pid));

let bundles: FunctionBundle[];

beforeAll(async () => {
  bundles = await buildAllFunctions(outRoot);
}, 240_000);

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

describe('function bundles', () => {
  it('builds one bundle per handler module under functions/', () => {
    expect(bundles.map((bundle) => bundle.entry)).toEqual(functionEntries());
    expect(bundles.length).toBeGreaterThan(10);
  });

  it(`keeps every bundle under ${kib(bundleBudgetBytes)} of minified JS`, () => {
    const over = bundles.filter((bundle) => bundle.jsBytes >= bundleBudgetBytes).map((bundle) => `${bundle.entry}: ${kib(bundle.jsBytes)}`);
    expect(over).toEqual([]);
  });

  it("bundles Powertools' tracer and the X-Ray SDK in every function that traces (imported where tracing is on, never left external)", () => {
    const withoutTracer = bundles
      .filter((bundle) => {
        const inputs = Object.keys(bundle.metafile.inputs);
        return !(inputs.some((file) => file.includes('node_modules/aws-xray-sdk-core/')) && inputs.some((file) => file.includes('node_modules/@aws-lambda-powertools/tracer/')));
      })
      .map((bundle) => bundle.entry);
    expect(withoutTracer).toEqual([]);
  });

  it('bundles zod/mini, never classic zod (about 100 KiB more in every bundle)', () => {
    for (const bundle of bundles) {
      const classic = [...bundle.inputBytes.keys()].filter((input) => input.includes('zod/v4/classic/'));
      expect({ entry: bundle.entry, classic }).toEqual({ entry: bundle.entry, classic: [] });
    }
  });

  // Also what fails when code reads `z.core` or `z.locales` at run time: those namespaces hold every locale.
  it('bundles only the English zod locale', () => {
    for (const bundle of bundles) {
      const locales = [...bundle.inputBytes.keys()].filter((input) => input.includes('zod/v4/locales/'));
      expect(locales.map((input) => path.basename(input))).toEqual(['en.js']);
    }
  });

  it("bundles none of the SDK's credential providers but the environment's", () => {
    for (const bundle of bundles) {
      const packages = new Set([...bundle.inputBytes.keys()].map(packageOf));
      const providers = [...packages].filter((name) => name.startsWith('@aws-sdk/credential-provider-') || name === '@aws-sdk/nested-clients');
      expect(providers.filter((name) => name !== '@aws-sdk/credential-provider-env')).toEqual([]);
    }
  });

  it('imports node:http and node:process without ESM facades (which load undici and set up stdin at cold start)', () => {
    for (const bundle of bundles) {
      const esmImports = Object.values(bundle.metafile.outputs).flatMap((output) =>
        output.imports.filter((record) => ['node:http', 'node:process'].includes(record.path) && record.kind === 'import-statement'),
      );
      expect(esmImports).toEqual([]);
    }
  });

  it('lets only aws-xray-sdk-core import semver (its stand-in has one function)', () => {
    for (const bundle of bundles) {
      const importers = Object.entries(bundle.metafile.inputs)
        .filter(([, input]) => input.imports.some((record) => record.original === 'semver'))
        .map(([file]) => packageOf(file));
      expect(importers.every((name) => name === 'aws-xray-sdk-core')).toBe(true);
    }
  });
});

describe('code and zod', () => {
  /** Every .ts file of the code that gets bundled. */
  function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return sources(full);
      return name.endsWith('.ts') ? [full] : [];
    });
  }

  it('imports zod only through shared/zod.ts, as a namespace (so that esbuild keeps only what is used)', () => {
    const zodModule = path.join(repoRoot, 'shared', 'zod.ts');
    const code = [...sources(path.join(repoRoot, 'shared')), ...sources(path.join(repoRoot, 'functions'))]
      .filter((file) => file !== zodModule)
      .map((file) => ({ file: path.relative(repoRoot, file), source: readFileSync(file, 'utf8') }));
    const fromPackage = code.filter(({ source }) => /\bfrom\s+'zod(?:\/[^']*)?'/.test(source)).map(({ file }) => file);
    const namedImport = code
      .filter(({ source }) => /import\s+(?:type\s+)?\{[^}]*\}\s+from\s+'(?:[./]+|#shared\/)zod(?:\.ts)?'/.test(source))
      .map(({ file }) => file);
    expect({ fromPackage, namedImport }).toEqual({ fromPackage: [], namedImport: [] });
  });
});
