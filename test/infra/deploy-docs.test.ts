/**
 * docs/deploy.md follows the code: every context key the app reads and every variable the
 * workflows read is documented there, and so is each command the deploy job runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '#infra/constructs/endpoint-api';

const deployDoc = readFileSync(path.join(repoRoot, 'docs/deploy.md'), 'utf8');

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(relative, suffix);
    return entry.name.endsWith(suffix) ? [relative] : [];
  });
}

const infraSource = filesUnder('infra', '.ts').map((file) => readFileSync(path.join(repoRoot, file), 'utf8')).join('\n');
const workflows = filesUnder('.github/workflows', '.yml').map((file) => readFileSync(path.join(repoRoot, file), 'utf8')).join('\n');

const contextKeys = [
  ...new Set(
    [...infraSource.matchAll(/(?:tryGetContext\(|contextList\(node, |contextString\(node, )'([A-Za-z]+)'\)/g)].map((match) => match[1] as string),
  ),
].sort();
const workflowVariables = [...new Set([...workflows.matchAll(/\bvars\.([A-Z_]+)/g)].map((match) => match[1] as string))].sort();

describe('docs/deploy.md', () => {
  it('documents every context key the app reads', () => {
    expect(contextKeys.length).toBeGreaterThan(10);
    expect(contextKeys.filter((key) => !deployDoc.includes(`\`${key}\``))).toEqual([]);
  });

  it('documents every variable the workflows read', () => {
    expect(workflowVariables).toContain('AWS_DEPLOY_ROLE_ARN');
    expect(workflowVariables.filter((name) => !deployDoc.includes(`\`${name}\``))).toEqual([]);
  });

  it("walks through the deploy job's commands", () => {
    for (const command of ['npm test', 'npx cdk synth', 'npx cdk diff', 'npx cdk deploy', '--outputs-file', 'cdk bootstrap', 'stop-deployment']) {
      expect({ command, documented: deployDoc.includes(command) }).toEqual({ command, documented: true });
    }
  });
});
