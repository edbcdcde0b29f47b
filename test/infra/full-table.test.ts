/**
 * The app as `cdk synth` builds it: every endpoint of the table with its real handler,
 * bundled by esbuild. Fails, naming the files, while a handler listed in
 * shared/http/endpoints.ts does not exist yet.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AwsSolutionsChecks } from 'cdk-nag';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { endpointList } from '#shared/http/endpoints';
import { functionOf, synth, type Synthesised } from '#test/infra/synth';

const missing = endpointList
  .filter((endpoint) => !existsSync(path.join(repoRoot, endpoint.entry)))
  .map((endpoint) => `${endpoint.id}: ${endpoint.entry}`);

describe('the full endpoint table, bundled', () => {
  it('has a handler file at every entry the endpoint table lists', () => {
    expect({ missingHandlerFiles: missing }).toEqual({ missingHandlerFiles: [] });
  });

  describe('synthesised', () => {
    let built: Synthesised | undefined;
    let failure: unknown;

    beforeAll(() => {
      if (missing.length > 0) return;
      try {
        built = synth({ stage: 'dev', endpoints: null, bundle: true });
      } catch (error) {
        failure = error;
      }
    }, 180_000);

    function synthesised(): Synthesised {
      if (missing.length > 0) throw new Error(`cannot synthesise: handler files missing: ${missing.join(', ')}`);
      if (built === undefined) throw new Error(`synth failed: ${String(failure)}`);
      return built;
    }

    it('declares one bundled function per endpoint', () => {
      const { template } = synthesised();
      // Every endpoint's function, and the event publisher.
      template.resourceCountIs('AWS::Lambda::Function', endpointList.length + 2);
      for (const endpoint of endpointList) {
        expect(functionOf(template, endpoint).Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
        });
      }
    });

    it('passes the cdk-nag checks with real handlers', () => {
      const { app } = synthesised();
      const report = new AwsSolutionsChecks().validateScope(app);
      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    });
  });
});
