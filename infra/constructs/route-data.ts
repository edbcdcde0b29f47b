/**
 * The resources that hold data: the routes table and the event bus with its archive.
 * Outside dev they are retained (and the table deletion-protected), so that deleting or
 * replacing the stack never takes the data with it; everything else can be redeployed freely.
 * Their definitions come from ../resources.ts, which the local provisioning reads too.
 */
import { Duration } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type Archive } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { eventBus as busDefinition, routesTable, type KeyAttribute } from '../resources.ts';
import type { StageSettings } from '../stage.ts';

interface RouteDataProps {
  stage: StageSettings;
  /**
   * A customer-managed key for the table.
   * @default - DynamoDB's AWS-owned key
   */
  encryptionKey?: IKey;
}

function attribute(key: KeyAttribute): { name: string; type: AttributeType } {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

export class RouteData extends Construct {
  readonly table: Table;
  readonly eventBus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string, props: RouteDataProps) {
    super(scope, id);
    const { stage } = props;

    this.table = new Table(this, 'RoutesTable', {
      partitionKey: attribute(routesTable.partitionKey),
      sortKey: attribute(routesTable.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      stream: StreamViewType[routesTable.streamViewType],
      timeToLiveAttribute: routesTable.timeToLiveAttribute,
      deletionProtection: stage.protect,
      ...(props.encryptionKey === undefined
        ? {}
        : { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }),
      removalPolicy: stage.removalPolicy,
    });
    for (const index of routesTable.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
      });
    }

    // CloudFormation requires a bus name; without one CDK derives a unique one from the path.
    this.eventBus = new EventBus(this, 'EventBus', {
      description: `traffic-manager route change events (${stage.name})`,
    });
    this.eventBus.applyRemovalPolicy(stage.removalPolicy);
    this.archive = this.eventBus.archive('Archive', {
      description: 'Every traffic-manager event, for replay.',
      eventPattern: { source: [...busDefinition.archivePattern.source] },
      retention: Duration.days(busDefinition.archiveRetentionDays),
    });
    this.archive.applyRemovalPolicy(stage.removalPolicy);
  }
}
