/**
 * `TrafficManagerAccountStack` (`TrafficManager-account`): what belongs to the AWS account,
 * not to a stage, deployed once per account by a person (docs/deploy.md, "Bootstrap"):
 * - GitHub's OIDC identity provider (unless the account has one: `-c githubOidcProviderArn`);
 * - one deploy role per GitHub environment, which only workflows of this repository running
 *   in that environment can assume, and which may do nothing but assume the CDK bootstrap
 *   roles (so what a deploy can change is what `cdk bootstrap` allowed);
 * - API Gateway's account-wide CloudWatch Logs role, which each stage stack used to create
 *   for itself (two stages in one account then fought over the one account setting).
 */
import { CfnOutput, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  OidcProviderNative,
  PolicyStatement,
  Role,
  WebIdentityPrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { serviceRole } from './constructs/service-role.ts';

const githubOidcIssuer = 'token.actions.githubusercontent.com';

/** The roles `cdk bootstrap` creates, by the `aws-cdk:bootstrap-role` tag it puts on them. */
export const bootstrapRoleTags = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;

interface GitHubDeploySettings {
  /** `owner/name` of the repository whose workflows deploy. */
  repository: string;
  /** The GitHub environments that deploy, one role each. */
  environments: readonly string[];
  /** @default - this stack creates the provider */
  oidcProviderArn?: string;
}

interface TrafficManagerAccountStackProps extends StackProps {
  github: GitHubDeploySettings;
}

export class TrafficManagerAccountStack extends Stack {
  readonly deployRoles: ReadonlyMap<string, Role>;

  constructor(scope: Construct, id: string, props: TrafficManagerAccountStackProps) {
    super(scope, id, props);
    const { github } = props;

    const providerArn =
      github.oidcProviderArn ??
      new OidcProviderNative(this, 'GitHubOidc', {
        url: `https://${githubOidcIssuer}`,
        clientIds: ['sts.amazonaws.com'],
      }).oidcProviderArn;

    const roles = new Map<string, Role>();
    for (const environment of github.environments) {
      const role = new Role(this, `DeployRole-${environment}`, {
        description: `GitHub Actions of ${github.repository}, environment ${environment}: cdk diff and deploy`,
        // Only a job of this repository that runs in this environment gets a token whose
        // subject is exactly this; pull requests and other branches get none.
        assumedBy: new WebIdentityPrincipal(providerArn, {
          StringEquals: {
            [`${githubOidcIssuer}:aud`]: 'sts.amazonaws.com',
            [`${githubOidcIssuer}:sub`]: `repo:${github.repository}:environment:${environment}`,
          },
        }),
      });
      role.addToPolicy(
        new PolicyStatement({
          actions: ['sts:AssumeRole', 'sts:TagSession'],
          resources: [`arn:${this.partition}:iam::${this.account}:role/cdk-*`],
          conditions: { StringEquals: { 'iam:ResourceTag/aws-cdk:bootstrap-role': [...bootstrapRoleTags] } },
        }),
      );
      // The finding's id spells the partition as it resolves: a token, or `aws` once the
      // stack's region is known.
      const reason =
        "The only wildcard is the resource role/cdk-*: the bootstrap roles' names carry a qualifier chosen at `cdk bootstrap`; the condition on their aws-cdk:bootstrap-role tag narrows the wildcard to exactly those roles.";
      Validations.of(role).acknowledge(
        ...['<AWS::Partition>', 'aws'].map((partition) => ({
          id: `AwsSolutions-IAM5[Resource::arn:${partition}:iam::<AWS::AccountId>:role/cdk-*]`,
          reason,
        })),
      );
      new CfnOutput(this, `DeployRoleArn${environment}`, {
        value: role.roleArn,
        description: `Set as the variable AWS_DEPLOY_ROLE_ARN of the GitHub environment ${environment}`,
      });
      roles.set(environment, role);
    }
    this.deployRoles = roles;

    const apiGatewayLogsRole = serviceRole(this, 'ApiGatewayCloudWatchRole', {
      service: 'apigateway.amazonaws.com',
      description: 'API Gateway writing execution and access logs (account-wide setting)',
      managedPolicy: 'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
      reason: 'The account-level API Gateway logging role; AWS documents this managed policy for it.',
    });
    new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: apiGatewayLogsRole.roleArn });
  }
}
