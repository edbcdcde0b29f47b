/**
 * shared/ is the code every function bundles; infra/ (the CDK app), local/ (the local stack)
 * and functions/ (the handlers) build on it, never the other way round. A shared module that
 * imports one of them drags the CDK or the local server into a Lambda bundle and makes a
 * fact's home ambiguous, so this test reads every import specifier under shared/ (static,
 * dynamic, `export ... from`, and the package.json `#...` aliases) and fails on one that
 * reaches those folders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '../..');
const forbiddenFolders = ['infra', 'local', 'functions'] as const;

function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every module specifier in `source`: imports, re-exports, `import()` and `require()`. */
function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName);
}

/**
 * The top-level folder of the repository that `specifier`, written in `file`, points at,
 * or undefined for a package import.
 */
function targetFolder(file: string, specifier: string): string | undefined {
  const alias = /^#([^/]+)\//.exec(specifier);
  if (alias !== null) return alias[1];
  if (!specifier.startsWith('.')) return undefined;
  const relative = path.relative(root, path.resolve(path.dirname(file), specifier));
  return relative.split(path.sep)[0];
}

/** Does `source` touch `process.env` (or destructure `env` from `process`) outside comments? */
function readsEnvironment(source: string): boolean {
  const code = ts.transpileModule(source, { compilerOptions: { removeComments: true } }).outputText;
  return /\bprocess\s*\.\s*env\b|\{[^}]*\benv\b[^}]*\}\s*=\s*process\b/.test(code);
}

/** `file: specifier` for each import of `source` that reaches a forbidden folder. */
function layeringViolations(file: string, source: string): string[] {
  return importSpecifiers(source)
    .filter((specifier) => {
      const folder = targetFolder(file, specifier);
      return folder !== undefined && (forbiddenFolders as readonly string[]).includes(folder);
    })
    .map((specifier) => `${path.relative(root, file)}: ${specifier}`);
}

describe('layering', () => {
  it('no file under shared/ imports from infra/, local/ or functions/', () => {
    const files = typeScriptFiles(path.join(root, 'shared'));
    expect(files.length).toBeGreaterThan(10);
    const violations = files.flatMap((file) => layeringViolations(file, readFileSync(file, 'utf8')));
    expect(violations).toEqual([]);
  });

  it('no file under shared/domain/ reads the environment (callers pass settings from shared/config.ts)', () => {
    const files = typeScriptFiles(path.join(root, 'shared', 'domain'));
    expect(files.length).toBeGreaterThan(0);
    const readers = files.filter((file) => readsEnvironment(readFileSync(file, 'utf8')));
    expect(readers.map((file) => path.relative(root, file))).toEqual([]);
  });

  it('recognises a read of the environment, and not a mention in a comment', () => {
    expect(readsEnvironment('const flag = process.env.ALLOW_HTTP_UPSTREAMS;')).toBe(true);
    expect(readsEnvironment("const { env } = process;")).toBe(true);
    expect(readsEnvironment('// reads no process.env itself\nconst x = 1;')).toBe(false);
  });

  describe('the check itself', () => {
    const file = path.join(root, 'shared', 'events', 'example.ts');

    it.each([
      "import { eventSource } from '../../infra/resources.ts';",
      "import type { TableDefinition } from '../../infra/resources.ts';",
      "export { eventSource } from '../../infra/resources.ts';",
      "export * from '../../local/paths.ts';",
      "const start = await import('../../local/start.ts');",
      "import { handler } from '#functions/routes/put-route';",
      "import { routesTable } from '#infra/resources';",
      "import '#local/environment';",
    ])('flags %s', (source) => {
      expect(layeringViolations(file, source)).toHaveLength(1);
    });

    it.each([
      "import { z } from 'zod';",
      "import { RouteSchema } from '../domain/route.schema.ts';",
      "import { metricNames } from '#shared/metric-names';",
      "import { eventSource } from '../service-names.ts';",
      '// a comment naming ../../infra/resources.ts is not an import',
    ])('allows %s', (source) => {
      expect(layeringViolations(file, source)).toEqual([]);
    });
  });
});
