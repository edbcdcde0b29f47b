import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { functionClassOf } from '#infra/function-classes';
import { synth } from '#test/infra/synth';
import { endpointList } from '#shared/http/endpoints';

const cdkJson = JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const recommended = JSON.parse(
  readFileSync(path.join(repoRoot, 'node_modules', 'aws-cdk-lib', 'recommended-feature-flags.json'), 'utf8'),
) as Record<string, unknown>;

describe('cdk.json', () => {
  it('pins every feature flag aws-cdk-lib recommends, so an upgrade changes no default behind our back', () => {
    const missing = Object.keys(recommended).filter((flag) => !(flag in cdkJson.context));
    expect(missing).toEqual([]);
  });
});

describe('reserved concurrency', () => {
  it.each([
    ['dev', 110],
    ['prod', 435],
  ] as const)('adds up in %s to the total docs/deploy.md tells the account to allow (%i)', (stage, documented) => {
    const { stage: settings } = synth({ stage });
    const perEndpoint = endpointList.map((endpoint) => settings.functionClasses[functionClassOf(endpoint)].reservedConcurrency ?? 0);
    const total = perEndpoint.reduce((sum, n) => sum + n, 0) + (settings.functionClasses.publisher.reservedConcurrency ?? 0);
    expect(total).toBe(documented);
    // "prod reserves 435 executions, dev 110" (docs/deploy.md, "Bootstrap").
    expect(readFileSync(path.join(repoRoot, 'docs/deploy.md'), 'utf8')).toMatch(new RegExp(`\\b${stage}( reserves)? ${documented}\\b`));
  });
});
