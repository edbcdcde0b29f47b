import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { synth } from '#test/infra/synth';

interface Violation {
  ruleName: string;
  severity: string;
  violatingResources: { constructPath?: string }[];
}

function nagFindings(scope: IConstruct, severity: 'error' | 'warning'): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return (report.violations as Violation[])
    .filter((violation) => violation.severity === severity)
    .map((violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

/** Every acknowledgement recorded in the tree, with its reason. */
function acknowledgements(scope: IConstruct): { id: string; reason: string }[] {
  const found: { id: string; reason: string }[] = [];
  for (const node of scope.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({ id, reason: typeof reason === 'string' ? reason : JSON.stringify(reason) });
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions checks', () => {
  it.each(['dev', 'prod'] as const)('finds no unacknowledged error in the %s app', (stage) => {
    const { app } = synth({ stage });
    expect(nagFindings(app, 'error')).toEqual([]);
  });

  it.each(['dev', 'prod'] as const)('finds no unacknowledged warning in the %s app either (they fail synth too)', (stage) => {
    const { app } = synth({ stage });
    expect(nagFindings(app, 'warning')).toEqual([]);
  });

  it('acknowledges findings only with a written reason', () => {
    const { app } = synth({ stage: 'dev' });
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect({ id: ack.id, long: ack.reason.trim().length >= 40 }).toEqual({ id: ack.id, long: true });
    }
  });

  it('reports an error for a non-compliant resource, so the checks above can fail', () => {
    const app = new App();
    const stack = new Stack(app, 'Bad');
    const role = new Role(stack, 'Wide', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    expect(nagFindings(app, 'error')).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-IAM5\[/)]));
  });

  it('interrupts synthesis of an app with an unacknowledged error', () => {
    const app = new App();
    const stack = new Stack(app, 'Bad');
    new Table(stack, 'NoPitr', { partitionKey: { name: 'PK', type: AttributeType.STRING } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => Template.fromStack(stack)).toThrow(/AwsSolutions-DDB3/);
  });
});
