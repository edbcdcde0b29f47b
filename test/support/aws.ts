/**
 * SDK clients aimed at the test emulator, for tests that inspect or arrange AWS state
 * directly. The code under test uses its own module-scope clients from shared/clients/.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { emulatorClientConfig } from '#local/emulator';

export function emulatorEndpoint(): string {
  const endpoint = process.env.TM_TEST_EMULATOR_ENDPOINT;
  if (endpoint === undefined) throw new Error('No emulator: run this test in the integration or e2e project');
  return endpoint;
}

export const testClientConfig = () => emulatorClientConfig(emulatorEndpoint(), process.env.AWS_REGION ?? 'us-east-1');

export const testDynamoDb = (): DynamoDBClient => new DynamoDBClient(testClientConfig());
export const testStreams = (): DynamoDBStreamsClient => new DynamoDBStreamsClient(testClientConfig());
export const testEventBridge = (): EventBridgeClient => new EventBridgeClient(testClientConfig());
export const testSqs = (): SQSClient => new SQSClient(testClientConfig());

/** A name no other test uses: tests share one emulator. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
