/**
 * The environment the functions see in the local stack and in tests: what the CDK
 * construct sets in AWS, pointed at the emulator.
 */
import { localNames } from '#infra/resources';

export function localFunctionEnvironment(awsEndpoint: string): Record<string, string> {
  return {
    AWS_REGION: localNames.region,
    AWS_ENDPOINT_URL: awsEndpoint,
    // The emulator accepts any credentials; fixed ones keep the SDK from searching for some.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: localNames.tableName,
    EVENT_BUS_NAME: localNames.eventBusName,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ALLOW_HTTP_UPSTREAMS: 'true',
  };
}
