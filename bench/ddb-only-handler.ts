/**
 * The cold-start baseline: a function that bundles only the DynamoDB client (no Middy, no
 * Powertools, no zod, no jose) and makes one client at module scope, as every function here
 * does. Built with the same production options and aliases as the real functions.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

const client = new DynamoDBClient({});

export const handler = async (): Promise<unknown> =>
  client.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { PK: { S: 'health' }, SK: { S: 'ROUTE' } } }));
