import { Validations } from 'aws-cdk-lib';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

interface ServiceRoleProps {
  /** The service principal that assumes the role, e.g. `codedeploy.amazonaws.com`. */
  service: string;
  description: string;
  /** The AWS managed policy AWS documents for the job, by name (`service-role/...`). */
  managedPolicy: string;
  /** Why the managed policy is right here: the acknowledgement of cdk-nag's AwsSolutions-IAM4. */
  reason: string;
}

/** A role an AWS service assumes with one AWS managed policy, acknowledged to cdk-nag. */
export function serviceRole(scope: Construct, id: string, props: ServiceRoleProps): Role {
  const role = new Role(scope, id, {
    assumedBy: new ServicePrincipal(props.service),
    description: props.description,
    managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName(props.managedPolicy)],
  });
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${props.managedPolicy}]`,
    reason: props.reason,
  });
  return role;
}
