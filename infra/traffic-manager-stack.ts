/**
 * The one stack of a stage (ARCHITECTURE.md, "Deploying"): the data (table, event bus,
 * archive), the functions and the REST API built from the endpoint table, the event
 * publisher, and the dashboard and alarms. Outside dev the stack is termination-protected
 * and the data is retained and deletion-protected (./constructs/route-data.ts).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { endpointList, type EndpointDefinition } from '../shared/http/endpoints.ts';
import { EndpointApi } from './constructs/endpoint-api.ts';
import { EventPublisher } from './constructs/event-publisher.ts';
import { Observability } from './constructs/observability.ts';
import { RouteData } from './constructs/route-data.ts';
import type { AuthSettings, StageSettings } from './stage.ts';

export interface TrafficManagerStackProps extends StackProps {
  stage: StageSettings;
  auth: AuthSettings;
  /**
   * The endpoints to deploy.
   * @default endpointList - every endpoint of the service
   */
  endpoints?: readonly EndpointDefinition[];
  /**
   * Whether token-protected methods also require an API key, so usage-plan tiers apply.
   * @default false
   */
  apiKeyRequired?: boolean;
}

export class TrafficManagerStack extends Stack {
  readonly data: RouteData;
  readonly endpointApi: EndpointApi;
  readonly observability: Observability;
  readonly eventPublisher: EventPublisher;

  constructor(scope: Construct, id: string, props: TrafficManagerStackProps) {
    super(scope, id, { ...props, terminationProtection: props.stage.protect });
    const { stage } = props;

    this.data = new RouteData(this, 'Data', { stage });
    const { table, eventBus } = this.data;

    this.endpointApi = new EndpointApi(this, 'Http', {
      stage,
      endpoints: props.endpoints ?? endpointList,
      table,
      eventBus,
      auth: props.auth,
      apiKeyRequired: props.apiKeyRequired ?? false,
    });

    this.observability = new Observability(this, 'Observability', {
      stageName: stage.name,
      api: this.endpointApi.api,
      functions: this.endpointApi.functions,
      table,
    });

    this.eventPublisher = new EventPublisher(this, 'Events', { stage, table, eventBus });

    new CfnOutput(this, 'ApiUrl', { value: this.endpointApi.api.url });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'RouteChangesQueueUrl', { value: this.eventPublisher.routeChangesQueue.queueUrl });
    new CfnOutput(this, 'RouteChangesQueueArn', { value: this.eventPublisher.routeChangesQueue.queueArn });
  }
}
