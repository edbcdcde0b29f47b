/**
 * The client is a package of its own that a data plane can run with nothing but Node: its
 * run-time import graph, followed from client/index.ts, reaches only Node built-ins, the
 * client's own files and the resolve engine (shared/domain/resolve.ts with the error types
 * it throws, both in shared/domain and shared/errors). Type-only imports (the route types, which come from zod schemas) are erased
 * and do not count. Also: its package.json names and exports it as API.md says, and plain
 * Node (24, which strips types) runs it from source with no build step.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from '#local/paths';

/** Run-time module specifiers of a TypeScript file (import and export-from, not `import type`). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.every((element) => element.isTypeOnly)));
      if (!typeOnly && ts.isStringLiteral(statement.moduleSpecifier)) specifiers.push(statement.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(statement.moduleSpecifier)) specifiers.push(statement.moduleSpecifier.text);
    }
  }
  return specifiers;
}

function runtimeGraph(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) queue.push(path.resolve(path.dirname(file), specifier));
      else external.add(specifier);
    }
  }
  return { files, external };
}

describe('the client package', () => {
  it('imports at run time only Node built-ins, its own files and the resolve engine', () => {
    const { files, external } = runtimeGraph(path.join(repoRoot, 'client', 'index.ts'));
    expect([...external].filter((specifier) => !specifier.startsWith('node:'))).toEqual([]);
    const outside = [...files].map((file) => path.relative(repoRoot, file)).filter((file) => !file.startsWith(`client${path.sep}`));
    // The engine may grow pure helpers of its own (its internals are free to change), but
    // only within the domain and error modules, which touch no AWS service.
    expect(outside).toContain(path.join('shared', 'domain', 'resolve.ts'));
    expect(outside.filter((file) => !/^shared[\\/](domain|errors)[\\/]/.test(file))).toEqual([]);
  });

  it('is @traffic-manager/client, an ES module exporting index.ts', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'client', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: '@traffic-manager/client', type: 'module', exports: { '.': { default: './index.ts' } }, dependencies: {} });
  });

  it('runs in plain Node from its source, with no build step and no loader', () => {
    const script = `
      const { createClient } = await import(${JSON.stringify(path.join(repoRoot, 'client', 'index.ts'))});
      const route = { tenant: 'acme', service: 'checkout', env: 'prod', rules: [], revision: 4,
        versions: { v1: { url: 'https://v1.example', weight: 1, state: 'active' } },
        createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z', updatedBy: 'x' };
      const client = createClient({ baseUrl: 'https://api.example', tenant: 'acme', getToken: () => 't',
        fetch: async () => new Response(JSON.stringify({ tenant: 'acme', routes: [route] }), { status: 200 }) });
      await client.start();
      console.log(JSON.stringify(client.resolve('checkout', 'prod', { key: 'k' })));
      await client.close();`;
    const env = { ...process.env, NODE_OPTIONS: '' };
    const run = spawnSync(process.execPath, ['--input-type=module', '--eval', script], { encoding: 'utf8', env, timeout: 30_000 });
    expect({ status: run.status, stderr: run.stderr }).toMatchObject({ status: 0 });
    expect(JSON.parse(run.stdout)).toEqual({ version: 'v1', url: 'https://v1.example', revision: 4, reason: 'weighted' });
  });
});
