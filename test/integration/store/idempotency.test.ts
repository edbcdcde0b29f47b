/**
 * The idempotency middleware through a real wrapped handler (the factory's whole chain,
 * auth included) writing through the real store into the emulator.
 */
import { randomUUID } from 'node:crypto';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { documentClient, dynamoDbClient, tableName } from '#shared/clients/dynamodb';
import { putRoute as putRouteChange } from '#shared/domain/route-changes';
import { ConflictError, UnprocessableContentError } from '#shared/errors/http-errors';
import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { IDEMPOTENCY_SORT_KEY, idempotency, toHttpError } from '#shared/middleware/idempotency';
import { writeContextOf, writeResult } from '#shared/http/route-results';
import { commitChange } from '#shared/store/commit-change';
import { getRevision, listRevisions } from '#shared/store/route.store';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';
import { bearer } from '#test/support/auth-tokens';
import { injectFault } from '#test/support/fault-injection';
import { routeKey, uniqueTenant } from './helpers.ts';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';

let runs = 0;
/** When set, the handler waits for it: a request held in flight. */
let gate: Promise<void> | undefined;

const putRoute = httpHandler({
  endpoint: endpoints.putRoute,
  idempotency: idempotency(endpoints.putRoute.id),
  // As functions/routes/put-route.ts, with a gate to hold a request in flight.
  run: async (input) => {
    runs += 1;
    await gate;
    const result = await commitChange(writeContextOf(input), putRouteChange(input.body));
    return writeResult(result, result.created);
  },
});

const bodyV1 = { versions: { v1: { url: 'https://v1.example.com', weight: 100, state: 'active' } }, defaultVersion: 'v1' };
const bodyV2 = { versions: { v2: { url: 'https://v2.example.com', weight: 100, state: 'active' } }, defaultVersion: 'v2' };

async function call(
  tenant: string,
  body: unknown,
  headers: Record<string, string> = {},
  env = 'prod',
  sub = 'writer',
  path = `/v1/tenants/${tenant}/routes/checkout/${env}`,
): Promise<APIGatewayProxyResult> {
  return putRoute(
    apiGatewayEvent({
      method: 'PUT',
      path,
      pathParameters: { tenant, service: 'checkout', env },
      resource: '/v1/tenants/{tenant}/routes/{service}/{env}',
      headers: { Authorization: await bearer({ tenant, scope: 'routes:write', sub }), ...headers },
      body,
    }),
    lambdaContext(),
  );
}

async function revisionCount(tenant: string, env = 'prod'): Promise<number> {
  return (await listRevisions(routeKey(tenant, 'checkout', env), { limit: 100 })).items.length;
}

describe('idempotent writes', () => {
  beforeEach(() => {
    runs = 0;
    gate = undefined;
  });

  it('returns 409 to a repeat while the first is in flight, without releasing the first one’s record', async () => {
    const tenant = uniqueTenant();
    const key = randomUUID();
    let release = (): void => undefined;
    gate = new Promise((resolve) => {
      release = resolve;
    });

    const first = call(tenant, bodyV1, { 'Idempotency-Key': key });
    while (runs === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const duplicate = await call(tenant, bodyV1, { 'Idempotency-Key': key });
    const duplicateAgain = await call(tenant, bodyV1, { 'Idempotency-Key': key });
    release();
    const firstResponse = await first;
    const afterwards = await call(tenant, bodyV1, { 'Idempotency-Key': key });

    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.headers?.['Retry-After']).toBe('1');
    expect(duplicateAgain.statusCode).toBe(409);
    expect(firstResponse.statusCode).toBe(201);
    expect(afterwards.statusCode).toBe(201);
    expect(afterwards.headers?.['Idempotent-Replayed']).toBe('true');
    expect(runs).toBe(1);
    expect(await revisionCount(tenant)).toBe(1);
  });

  it('returns the first response to a repeat with the same key and body, committing nothing', async () => {
    const tenant = uniqueTenant();
    const key = randomUUID();

    const first = await call(tenant, bodyV1, { 'Idempotency-Key': key });
    const repeat = await call(tenant, bodyV1, { 'Idempotency-Key': key, 'X-Request-Id': 'repeat-1' });

    expect(first.statusCode).toBe(201);
    expect(repeat.statusCode).toBe(201);
    expect(repeat.body).toBe(first.body);
    expect(repeat.headers?.ETag).toBe('"1"');
    expect(repeat.headers?.['Idempotent-Replayed']).toBe('true');
    expect(repeat.headers?.['x-request-id']).toBe('repeat-1');
    // A replay ends Middy's chain early; the factory still adds the security headers.
    expect(repeat.headers?.['X-Content-Type-Options']).toBe('nosniff');
    expect(repeat.headers?.['Strict-Transport-Security']).toBe(first.headers?.['Strict-Transport-Security']);
    expect(runs).toBe(1);
    expect(await revisionCount(tenant)).toBe(1);
  });

  it('returns 422 for the same key with a different body, and keeps replaying the first', async () => {
    const tenant = uniqueTenant();
    const key = randomUUID();
    await call(tenant, bodyV1, { 'Idempotency-Key': key });

    const mismatch = await call(tenant, bodyV2, { 'Idempotency-Key': key });
    const mismatchAgain = await call(tenant, bodyV2, { 'Idempotency-Key': key });
    const repeat = await call(tenant, bodyV1, { 'Idempotency-Key': key });

    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.headers?.['Content-Type']).toBe('application/problem+json');
    expect(JSON.parse(mismatch.body)).toMatchObject({ status: 422, title: 'Unprocessable Content' });
    // The refused request must not have released the original's record.
    expect(mismatchAgain.statusCode).toBe(422);
    expect(repeat.statusCode).toBe(201);
    expect(runs).toBe(1);
    expect(await revisionCount(tenant)).toBe(1);
  });

  it('is not idempotent without the header: each write runs', async () => {
    const tenant = uniqueTenant();
    const first = await call(tenant, bodyV1);
    const second = await call(tenant, bodyV2);
    const third = await call(tenant, bodyV1);

    expect([first.statusCode, second.statusCode, third.statusCode]).toEqual([201, 200, 200]);
    expect(runs).toBe(3);
    expect(await revisionCount(tenant)).toBe(3);
  });

  it('scopes a key to its tenant and path', async () => {
    const key = randomUUID();
    const tenantA = uniqueTenant();
    const tenantB = uniqueTenant();

    await call(tenantA, bodyV1, { 'Idempotency-Key': key });
    const otherTenant = await call(tenantB, bodyV1, { 'Idempotency-Key': key });
    const otherRoute = await call(tenantA, bodyV1, { 'Idempotency-Key': key }, 'staging');

    expect(otherTenant.statusCode).toBe(201);
    expect(otherRoute.statusCode).toBe(201);
    expect(runs).toBe(3);
    expect(await revisionCount(tenantB)).toBe(1);
  });

  it('scopes a key to its caller: another caller’s same key runs its own write', async () => {
    const key = randomUUID();
    const tenant = uniqueTenant();

    const first = await call(tenant, bodyV1, { 'Idempotency-Key': key }, 'prod', 'writer');
    const otherCaller = await call(tenant, bodyV2, { 'Idempotency-Key': key }, 'prod', 'other-writer');
    const sameCaller = await call(tenant, bodyV1, { 'Idempotency-Key': key }, 'prod', 'writer');

    expect(first.statusCode).toBe(201);
    expect(otherCaller.statusCode).toBe(200);
    expect(otherCaller.headers?.['Idempotent-Replayed']).toBeUndefined();
    expect(sameCaller.headers?.['Idempotent-Replayed']).toBe('true');
    expect(runs).toBe(2);
    expect(await revisionCount(tenant)).toBe(2);
  });

  it('treats a path and its percent-encoded spelling as one path', async () => {
    const key = randomUUID();
    const tenant = uniqueTenant();

    const first = await call(tenant, bodyV1, { 'Idempotency-Key': key });
    const encoded = await call(tenant, bodyV1, { 'Idempotency-Key': key }, 'prod', 'writer', `/v1/tenants/${tenant}/routes/%63heckout/prod`);

    expect(first.statusCode).toBe(201);
    expect(encoded.statusCode).toBe(201);
    expect(encoded.headers?.['Idempotent-Replayed']).toBe('true');
    expect(runs).toBe(1);
    expect(await revisionCount(tenant)).toBe(1);
  });

  it('records the server-issued request id and the caller’s x-request-id on the revision', async () => {
    const tenant = uniqueTenant();
    const response = await call(tenant, bodyV1, { 'X-Request-Id': 'caller-corr-1' });

    expect(response.statusCode).toBe(201);
    expect(response.headers?.['x-request-id']).toBe('caller-corr-1');
    const revision = await getRevision(routeKey(tenant), 1);
    expect(revision).toMatchObject({ seq: 1, correlationId: 'caller-corr-1', actor: 'writer' });
    expect(revision?.requestId).not.toBe('caller-corr-1');
    expect(revision?.requestId).toMatch(/\S/);
  });

  it('does not remember a failed request: the same key can be retried', async () => {
    const tenant = uniqueTenant();
    const key = randomUUID();
    await call(tenant, bodyV1);

    const stale = await call(tenant, bodyV2, { 'Idempotency-Key': key, 'If-Match': '"7"' });
    const retried = await call(tenant, bodyV2, { 'Idempotency-Key': key, 'If-Match': '"1"' });
    const repeated = await call(tenant, bodyV2, { 'Idempotency-Key': key, 'If-Match': '"1"' });

    expect(stale.statusCode).toBe(412);
    expect(retried.statusCode).toBe(200);
    expect(retried.headers?.['Idempotent-Replayed']).toBeUndefined();
    expect(repeated.statusCode).toBe(200);
    expect(repeated.headers?.['Idempotent-Replayed']).toBe('true');
    expect(runs).toBe(3);
    expect(await revisionCount(tenant)).toBe(2);
  });

  it('stores each record in its own partition of the single table, with a TTL 24 hours out', async () => {
    const tenants = [uniqueTenant(), uniqueTenant()];
    const before = Math.floor(Date.now() / 1000);
    for (const tenant of tenants) {
      expect((await call(tenant, bodyV1, { 'Idempotency-Key': randomUUID() })).statusCode).toBe(201);
    }

    // Scanned, not queried: the point is that no one partition holds them all.
    const records: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'begins_with(PK, :prefix)',
          ExpressionAttributeValues: { ':prefix': 'IDEMPOTENCY#putRoute#' },
          ExclusiveStartKey,
        }),
      );
      records.push(...(page.Items ?? []).filter((item) => tenants.some((tenant) => JSON.stringify(item.data).includes(tenant))));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey !== undefined);

    expect(records).toHaveLength(2);
    expect(new Set(records.map((record) => record.PK)).size).toBe(2);
    for (const record of records) {
      expect(record).toMatchObject({ SK: IDEMPOTENCY_SORT_KEY, status: 'COMPLETED' });
      const expiresAt = Number(record.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 24 * 3600);
      expect(expiresAt).toBeLessThanOrEqual(before + 24 * 3600 + 60);
      const { Item } = await documentClient.send(
        new GetCommand({ TableName: tableName, Key: { PK: record.PK, SK: IDEMPOTENCY_SORT_KEY }, ConsistentRead: true }),
      );
      expect(Item).toEqual(record);
    }
  });

  it('returns 503 with Retry-After when the idempotency record cannot be written', async () => {
    const tenant = uniqueTenant();
    const fault = injectFault(dynamoDbClient, {
      command: 'PutItemCommand',
      times: 100,
      error: () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }),
    });
    let response: APIGatewayProxyResult;
    try {
      response = await call(tenant, bodyV1, { 'Idempotency-Key': randomUUID() });
    } finally {
      fault.remove();
    }
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('1');
    expect(runs).toBe(0);
    expect(await revisionCount(tenant)).toBe(0);
  });

  it('answers a committed write with success even when its response cannot be stored', async () => {
    const tenant = uniqueTenant();
    const key = randomUUID();
    // Powertools stores the result with UpdateItem once the handler has succeeded.
    const fault = injectFault(dynamoDbClient, {
      command: 'UpdateItemCommand',
      times: 100,
      error: () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }),
    });
    let response: APIGatewayProxyResult;
    try {
      response = await call(tenant, bodyV1, { 'Idempotency-Key': key });
    } finally {
      fault.remove();
    }
    expect(response.statusCode).toBe(201);
    expect(fault.attempts).toBeGreaterThan(0);
    expect(await revisionCount(tenant)).toBe(1);
    // The record stays in progress, so a repeat cannot run the write a second time.
    const repeat = await call(tenant, bodyV1, { 'Idempotency-Key': key });
    expect(repeat.statusCode).toBe(409);
    expect(await revisionCount(tenant)).toBe(1);
  });

  it('refuses a malformed Idempotency-Key with 400', async () => {
    const response = await call(uniqueTenant(), bodyV1, { 'Idempotency-Key': 'has spaces in it' });
    expect(response.statusCode).toBe(400);
    expect(runs).toBe(0);
  });
});

describe('toHttpError', () => {
  it('maps the idempotency errors to 422, 409 and 503, and nothing else', () => {
    expect(toHttpError(new IdempotencyValidationError('mismatch'))).toBeInstanceOf(UnprocessableContentError);
    const inProgress = toHttpError(new IdempotencyAlreadyInProgressError('busy'));
    expect(inProgress).toBeInstanceOf(ConflictError);
    expect(inProgress?.headers['Retry-After']).toBe('1');
    const throttled = new IdempotencyPersistenceLayerError('failed', {
      cause: new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }),
    });
    expect(toHttpError(throttled)?.status).toBe(503);
    expect(toHttpError(new IdempotencyPersistenceLayerError('failed', { cause: new Error('bug') }))).toBeUndefined();
    expect(toHttpError(new Error('other'))).toBeUndefined();
  });
});
