import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { bootstrapRoleTags } from '#infra/account-stack';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { resourcesOf, synth } from '#test/infra/synth';

describe('the account stack (GitHub OIDC deploy roles)', () => {
  const built = synth({ context: { githubRepository: 'acme/traffic-manager' } });
  const template = (): Template => {
    if (built.accountStack === undefined) throw new Error('no account stack');
    return Template.fromStack(built.accountStack);
  };

  it('exists only when the context names the repository', () => {
    expect(built.accountStack?.stackName).toBe('TrafficManager-account');
    expect(synth().accountStack).toBeUndefined();
  });

  it("declares GitHub's OIDC provider for STS", () => {
    template().hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
  });

  it('reuses an existing provider when given one', () => {
    const reused = synth({
      context: { githubRepository: 'acme/traffic-manager', githubOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' },
    });
    if (reused.accountStack === undefined) throw new Error('no account stack');
    Template.fromStack(reused.accountStack).resourceCountIs('AWS::IAM::OIDCProvider', 0);
  });

  it('trusts only this repository, one role per GitHub environment, with the STS audience', () => {
    const roles = resourcesOf(template(), 'AWS::IAM::Role').filter((role) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('sts:AssumeRoleWithWebIdentity'),
    );
    const subjects = roles.map((role) => {
      const [statement] = (role.Properties.AssumeRolePolicyDocument as { Statement: { Condition: { StringEquals: Record<string, string> } }[] }).Statement;
      expect(statement?.Condition.StringEquals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com');
      return statement?.Condition.StringEquals['token.actions.githubusercontent.com:sub'];
    });
    expect(subjects.sort()).toEqual(['repo:acme/traffic-manager:environment:dev', 'repo:acme/traffic-manager:environment:prod']);
  });

  it('lets the deploy roles do nothing but assume the CDK bootstrap roles', () => {
    const policies = resourcesOf(template(), 'AWS::IAM::Policy').filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('DeployRole'),
    );
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: { StringEquals: { 'iam:ResourceTag/aws-cdk:bootstrap-role': [...bootstrapRoleTags] } },
        }),
      ]);
      expect(JSON.stringify(statements[0]?.Resource)).toContain(':role/cdk-*');
    }
  });

  it("owns API Gateway's account-wide logging role; the stage stacks do not", () => {
    template().resourceCountIs('AWS::ApiGateway::Account', 1);
    built.template.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(JSON.stringify(built.template.toJSON())).not.toContain('AmazonAPIGatewayPushToCloudWatchLogs');
  });

  it('outputs each role ARN for the repository variables', () => {
    const outputs = Object.keys(template().toJSON().Outputs as Record<string, unknown>);
    expect(outputs.sort()).toEqual(['DeployRoleArndev', 'DeployRoleArnprod']);
  });
});

describe('stage settings', () => {
  it('encrypts the table, queues and logs with the key from -c kmsKey', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const { template } = synth({ context: { kmsKey: keyArn } });
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn } });
    for (const queue of resourcesOf(template, 'AWS::SQS::Queue')) {
      expect(queue.Properties).toMatchObject({ KmsMasterKeyId: keyArn });
      expect(queue.Properties.SqsManagedSseEnabled).toBeUndefined();
    }
    for (const group of resourcesOf(template, 'AWS::Logs::LogGroup')) expect(group.Properties.KmsKeyId).toBe(keyArn);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('refuses a malformed key ARN', () => {
    expect(() => synth({ context: { kmsKey: 'alias/mine' } })).toThrow(/Invalid key ARN "alias\/mine" in -c kmsKey/);
  });

  it('retains the dead-letter queues and the route-changes queue with the prod stack', () => {
    const { template } = synth({ stage: 'prod' });
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, { DeletionPolicy?: string }>;
    expect(Object.values(queues).map((queue) => queue.DeletionPolicy)).toEqual(['Retain', 'Retain', 'Retain']);
  });

  it('names one REST API per stage, so two stages in one account keep their metrics apart', () => {
    expect(resourcesOf(synth({ stage: 'prod' }).template, 'AWS::ApiGateway::RestApi')[0]?.Properties.Name).toBe('TrafficManager-prod');
    expect(resourcesOf(synth({ stage: 'dev' }).template, 'AWS::ApiGateway::RestApi')[0]?.Properties.Name).toBe('TrafficManager-dev');
  });
});

describe('the CDK app on the command line', () => {
  it('fails -c stage=prod without auth settings with one line naming the missing keys, not a stack trace', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'tm-app-'));
    try {
      const run = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['infra/app.ts'], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ stage: 'prod' }), CDK_OUTDIR: outdir },
      });
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(
        'traffic-manager: Stage prod needs the context keys jwksUrl, issuer, audience: pass -c jwksUrl=... -c issuer=... -c audience=...',
      );
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
