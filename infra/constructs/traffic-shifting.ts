/**
 * `TrafficShifting`: how a deploy moves each function's `live` alias to the new version.
 * A stage whose `trafficShift` is `all-at-once` (dev) gets nothing here: CloudFormation
 * points the alias at the new version straight away. Otherwise (prod) every function gets a
 * CodeDeploy deployment group that shifts the alias by the stage's configuration and rolls
 * back when one of the function's guarding alarms fires, when the deployment fails or when
 * an operator stops it (docs/deploy.md, "Watching and stopping a deploy").
 */
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import {
  LambdaApplication,
  LambdaDeploymentConfig,
  LambdaDeploymentGroup,
  type ILambdaDeploymentConfig,
} from 'aws-cdk-lib/aws-codedeploy';
import { Construct } from 'constructs';
import { stageResourceName, type StageSettings, type TrafficShift } from '../stage.ts';
import type { ServiceFunction } from './service-function.ts';
import { serviceRole } from './service-role.ts';

const deploymentConfigs: Record<Exclude<TrafficShift, 'all-at-once'>, ILambdaDeploymentConfig> = {
  CANARY_10PERCENT_5MINUTES: LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  LINEAR_10PERCENT_EVERY_1MINUTE: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
};

/** One function to shift, with the alarms that stop its shift and roll it back. */
export interface ShiftedFunction {
  id: string;
  fn: ServiceFunction;
  /** At most 10 (CodeDeploy's limit per deployment group). */
  alarms: readonly IAlarm[];
}

interface TrafficShiftingProps {
  stage: StageSettings;
  functions: readonly ShiftedFunction[];
}

export class TrafficShifting extends Construct {
  /** Absent when the stage deploys all at once. */
  readonly application?: LambdaApplication;
  readonly deploymentGroups: ReadonlyMap<string, LambdaDeploymentGroup>;

  constructor(scope: Construct, id: string, props: TrafficShiftingProps) {
    super(scope, id);
    const groups = new Map<string, LambdaDeploymentGroup>();
    this.deploymentGroups = groups;
    if (props.stage.trafficShift === 'all-at-once') return;

    const deploymentConfig = deploymentConfigs[props.stage.trafficShift];
    this.application = new LambdaApplication(this, 'Application', {
      applicationName: stageResourceName(props.stage.name),
    });
    // One role for every group: CodeDeploy's documented policy for Lambda deployments.
    const role = serviceRole(this, 'Role', {
      service: 'codedeploy.amazonaws.com',
      description: 'CodeDeploy shifting the live aliases of traffic-manager functions',
      managedPolicy: 'service-role/AWSCodeDeployRoleForLambdaLimited',
      reason:
        'The managed policy AWS documents for CodeDeploy Lambda deployments: alias updates, invoking hooks named CodeDeployHook_*, reading alarms.',
    });
    for (const shifted of props.functions) {
      if (shifted.alarms.length > 10) throw new Error(`${shifted.id}: CodeDeploy watches at most 10 alarms`);
      groups.set(
        shifted.id,
        new LambdaDeploymentGroup(this, `${shifted.id}Deployment`, {
          application: this.application,
          alias: shifted.fn.liveAlias,
          deploymentConfig,
          alarms: [...shifted.alarms],
          role,
          autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
        }),
      );
    }
  }
}
