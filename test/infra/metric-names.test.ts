/**
 * Every name in shared/metric-names.ts is emitted somewhere: a `metricNames.<key>` in the
 * source under shared/ or functions/ (the dashboard and alarms read these names; a name
 * nothing emits draws an empty graph and an alarm that never fires).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { metricNames } from '#shared/metric-names';

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(relative));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && relative !== path.join('shared', 'metric-names.ts')) {
      found.push(relative);
    }
  }
  return found;
}

const source = [...sourceFiles('shared'), ...sourceFiles('functions')]
  .map((file) => readFileSync(path.join(repoRoot, file), 'utf8'))
  .join('\n');

function emitted(key: string): boolean {
  return new RegExp(`\\bmetricNames\\.${key}\\b`).test(source);
}

describe('custom metric names', () => {
  it.each(Object.keys(metricNames))(
    'metricNames.%s is emitted by code under shared/ or functions/',
    (key) => {
      expect(emitted(key)).toBe(true);
    },
  );

  it('finds no emission of a name that does not exist, so the check can fail', () => {
    expect(emitted('noSuchMetric')).toBe(false);
  });
});
