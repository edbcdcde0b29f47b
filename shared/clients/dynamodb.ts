/** The DynamoDB clients, created once per execution environment. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseEnv, tableEnv } from '../config.ts';
import { tracer } from '../observability.ts';
import { awsClientConfig } from './aws-client-config.ts';
import { obeyingDeadline } from './deadline.ts';

export const tableName = parseEnv(tableEnv).TABLE_NAME;

/**
 * Maps whose keys are caller-chosen names (versions) may hold `constructor`: without
 * convertClassInstanceToMap the marshaller mistakes such a map for a class instance.
 */
const translateConfig = { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } };

export const dynamoDbClient = obeyingDeadline(tracer.captureAWSv3Client(new DynamoDBClient(awsClientConfig)));
export const documentClient = obeyingDeadline(DynamoDBDocumentClient.from(dynamoDbClient, translateConfig));

/**
 * The client of the write path's transactions: no SDK retries, because the write path must
 * know what became of each attempt it sent (shared/store/commit-change.ts retries itself).
 */
export const transactionClient = obeyingDeadline(
  DynamoDBDocumentClient.from(
    tracer.captureAWSv3Client(new DynamoDBClient({ ...awsClientConfig, maxAttempts: 1 })),
    translateConfig,
  ),
);
