/**
 * The stateful resources, described once: the CDK stack (infra/) and the local emulator's
 * provisioning (local/provision.ts) both build from these definitions, and
 * test/infra/resources-agree.test.ts proves the synthesised template matches what the
 * local stack creates.
 */
import { eventSource } from '../shared/service-names.ts';

export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}

interface TableDefinition {
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  globalSecondaryIndexes: readonly {
    indexName: string;
    partitionKey: KeyAttribute;
    sortKey: KeyAttribute;
  }[];
  /** Stream view type of the table's stream: the outbox that feeds the event publisher. */
  streamViewType: 'NEW_AND_OLD_IMAGES';
  /** Attribute holding an epoch-seconds expiry (idempotency records). */
  timeToLiveAttribute: string;
}

/** The single table (ARCHITECTURE.md, "Data: one table"). */
export const routesTable = {
  partitionKey: { name: 'PK', type: 'S' },
  sortKey: { name: 'SK', type: 'S' },
  globalSecondaryIndexes: [
    {
      // Tenant-wide queries: list and snapshot (`T#<tenant>#ROUTES`), audit (`T#<tenant>#AUDIT`).
      indexName: 'ByTenant',
      partitionKey: { name: 'GSI1PK', type: 'S' },
      sortKey: { name: 'GSI1SK', type: 'S' },
    },
  ],
  streamViewType: 'NEW_AND_OLD_IMAGES',
  timeToLiveAttribute: 'expiresAt',
} as const satisfies TableDefinition;

export { eventSource };

export const eventBus = {
  /** How long the archive keeps events for replay. */
  archiveRetentionDays: 30,
  /** Matches every event this service publishes: what the archive keeps. */
  archivePattern: { source: [eventSource] },
} as const;

/**
 * The consumer the project ships: a rule that copies every route event into the
 * route-changes queue, for downstream consumers, with a dead-letter queue behind both.
 */
export const routeChanges = {
  pattern: { source: [eventSource] },
  queueRetentionDays: 4,
  visibilityTimeoutSeconds: 60,
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
  deadLetterRetentionDays: 14,
} as const;

/** Local stack only: a queue that receives every event on the bus (API.md, Local stack). */
export const localTap = {
  queueName: 'traffic-manager-events-tap',
  ruleName: 'traffic-manager-events-tap',
  pattern: { source: [eventSource] },
} as const;

/** Names the local stack gives what CloudFormation names in AWS. */
export const localNames = {
  tableName: 'traffic-manager-routes',
  eventBusName: 'traffic-manager-bus',
  archiveName: 'traffic-manager-archive',
  routeChangesQueueName: 'traffic-manager-route-changes',
  routeChangesDeadLetterQueueName: 'traffic-manager-route-changes-dlq',
  routeChangesRuleName: 'traffic-manager-route-changes',
  region: 'us-east-1',
} as const;
