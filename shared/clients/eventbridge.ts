/** The EventBridge client, created once per execution environment. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { busEnv, parseEnv } from '../config.ts';
import { tracer } from '../observability.ts';
import { awsClientConfig } from './aws-client-config.ts';
import { obeyingDeadline } from './deadline.ts';

export const eventBusName = parseEnv(busEnv).EVENT_BUS_NAME;

export const eventBridgeClient = obeyingDeadline(tracer.captureAWSv3Client(new EventBridgeClient(awsClientConfig)));
