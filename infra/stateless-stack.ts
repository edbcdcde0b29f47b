/**
 * The stateless stack: the functions, the REST API built from the endpoint table, and the
 * dashboard and alarms. It holds no data, so it can be destroyed and redeployed freely;
 * the stateful resources arrive through typed props.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import { endpointList, type EndpointDefinition } from '../shared/http/endpoints.ts';
import { EndpointApi } from './constructs/endpoint-api.ts';
import { EventPublisher } from './constructs/event-publisher.ts';
import { Observability } from './constructs/observability.ts';
import type { AuthSettings, StageSettings } from './stage.ts';

export interface StatelessStackProps extends StackProps {
  stage: StageSettings;
  table: ITable;
  eventBus: IEventBus;
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

export class StatelessStack extends Stack {
  readonly endpointApi: EndpointApi;
  readonly observability: Observability;
  readonly eventPublisher: EventPublisher;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { stage } = props;

    this.endpointApi = new EndpointApi(this, 'Http', {
      stage,
      endpoints: props.endpoints ?? endpointList,
      table: props.table,
      eventBus: props.eventBus,
      auth: props.auth,
      apiKeyRequired: props.apiKeyRequired ?? false,
    });

    this.observability = new Observability(this, 'Observability', {
      stageName: stage.name,
      api: this.endpointApi.api,
      functions: this.endpointApi.functions,
      table: props.table,
    });

    this.eventPublisher = new EventPublisher(this, 'Events', {
      stage,
      table: props.table,
      eventBus: props.eventBus,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.endpointApi.api.url });
    new CfnOutput(this, 'RouteChangesQueueUrl', { value: this.eventPublisher.routeChangesQueue.queueUrl });
    new CfnOutput(this, 'RouteChangesQueueArn', { value: this.eventPublisher.routeChangesQueue.queueArn });
  }
}
