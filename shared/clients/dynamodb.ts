/** The DynamoDB clients, created once per execution environment. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseEnv, tableEnv } from '../config.ts';
import { tracer } from '../observability.ts';
import { awsClientConfig } from './aws-client-config.ts';

export const tableName = parseEnv(tableEnv).TABLE_NAME;

export const dynamoDbClient = tracer.captureAWSv3Client(new DynamoDBClient(awsClientConfig));
export const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, {
  // Maps whose keys are caller-chosen names (versions) may hold `constructor`: without
  // convertClassInstanceToMap the marshaller mistakes such a map for a class instance.
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
