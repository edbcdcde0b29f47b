/**
 * cfn-lint on the synthesised templates of both stages: what CloudFormation would refuse or
 * warn about at deploy time, found offline. W3005 (a DependsOn that a GetAtt already
 * implies) is how CDK writes every function's role dependency, so it is ignored.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '#local/paths';
import { synth } from './synth.ts';

const cfnLint = path.join(repoRoot, '.venv', 'bin', 'cfn-lint');

interface Finding {
  Rule: { Id: string };
  Message: string;
  Filename: string;
}

describe.each(['dev', 'prod'] as const)('cfn-lint on the %s template', (stage) => {
  let dir: string;
  let files: string[];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), `tm-cfn-${stage}-`));
    const built = synth({ stage });
    const file = path.join(dir, `${built.stack.stackName}.json`);
    writeFileSync(file, JSON.stringify(built.template.toJSON()));
    files = [file];
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds no error and no warning', () => {
    let output: string;
    try {
      output = execFileSync(cfnLint, ['--format', 'json', '--ignore-checks', 'W3005', '--', ...files], {
        encoding: 'utf8',
      });
    } catch (error) {
      // cfn-lint exits non-zero when it finds anything; its findings are still on stdout.
      output = String((error as { stdout?: unknown }).stdout ?? '');
      if (output.trim() === '') throw error;
    }
    const findings = JSON.parse(output) as Finding[];
    expect(findings.map((f) => `${f.Rule.Id} ${path.basename(f.Filename)}: ${f.Message}`)).toEqual([]);
  });
});
