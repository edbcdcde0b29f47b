/**
 * DynamoDB failures injected into the shared client's middleware stack (the real SDK retry
 * strategy runs), through the real PUT handler: an unknown failure is a 500 that tells the
 * caller only the request id, throttling beyond the retries is a 503 with Retry-After, and
 * neither writes anything.
 */
import {
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { transactionClient } from '#shared/clients/dynamodb';
import { withFault } from '#test/support/fault-injection';
import { expectProblem, registry, twoVersionBody, uniqueTenant, version } from './registry-client.ts';

const awsMessage = 'Requested resource not found: Table: traffic-manager arn:aws:dynamodb:us-east-1:123456789012';

describe('PUT route when DynamoDB fails', () => {
  it('answers 500 with only the request id when TransactWriteItems fails unrecoverably, writing nothing', async () => {
    const api = registry(uniqueTenant());
    const { result: response, fault } = await withFault(
      transactionClient,
      {
        command: 'TransactWriteItemsCommand',
        times: 1,
        error: () => new ResourceNotFoundException({ message: awsMessage, $metadata: { httpStatusCode: 400 } }),
      },
      () => api.putRoute(twoVersionBody(), { headers: { 'X-Request-Id': 'req-fault-500' } }),
    );
    expect(fault.failed).toBe(1);
    expect(fault.attempts).toBe(1);

    const problem = expectProblem(response, 500);
    expect(problem).toEqual({
      type: expect.stringMatching(/internal$/),
      title: 'Internal Server Error',
      status: 500,
      detail: expect.stringMatching(/^An unexpected error occurred\. Quote request id \S+ when reporting it\.$/),
      instance: expect.any(String),
      requestId: expect.any(String),
      correlationId: 'req-fault-500',
    });
    expect(problem.detail).toContain(String(problem.requestId));
    expect(response.headers['x-request-id']).toBe('req-fault-500');
    expect(response.raw.body).not.toMatch(/ResourceNotFound|Requested resource|arn:aws|Table/);
    expect((await api.getRoute()).status).toBe(404);
    expect((await api.listRevisions()).status).toBe(404);
  });

  it('answers 500 to an unknown failure of a replacing PUT, leaving the route and history as they were', async () => {
    const api = registry(uniqueTenant());
    const created = await api.putRoute(twoVersionBody());
    const { result: response } = await withFault(
      transactionClient,
      {
        command: 'TransactWriteItemsCommand',
        times: 1,
        error: () => new ResourceNotFoundException({ message: awsMessage, $metadata: { httpStatusCode: 400 } }),
      },
      () => api.putRoute({ versions: { v9: version('v9') }, defaultVersion: 'v9' }),
    );

    expectProblem(response, 500);
    expect(response.raw.body).not.toContain(awsMessage);
    const read = await api.getRoute();
    expect(read.body).toEqual(created.body);
    expect((await api.listRevisions()).body.items.map((item) => item.revision)).toEqual([1]);
  });

  it('answers 503 with Retry-After when throttling outlasts the SDK retries, writing nothing', async () => {
    const api = registry(uniqueTenant());
    const { result: response, fault } = await withFault(
      transactionClient,
      {
        command: 'TransactWriteItemsCommand',
        times: 100,
        error: () =>
          new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded', $metadata: { httpStatusCode: 400 } }),
      },
      () => api.putRoute(twoVersionBody()),
    );
    // The retry budget: three attempts in all (the write path's, as the SDK's), then 503.
    expect(fault.attempts).toBe(3);

    const problem = expectProblem(response, 503);
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(problem.detail).not.toContain('provisioned throughput');
    expect((await api.getRoute()).status).toBe(404);
    expect((await api.listRevisions()).status).toBe(404);
  });

  it('answers 503 with Retry-After when the service errors on every attempt', async () => {
    const api = registry(uniqueTenant());
    const { result: response } = await withFault(
      transactionClient,
      {
        command: 'TransactWriteItemsCommand',
        times: 100,
        error: () =>
          new DynamoDBServiceException({ name: 'InternalServerError', $fault: 'server', message: 'Internal server error', $metadata: { httpStatusCode: 500 } }),
      },
      () => api.putRoute(twoVersionBody()),
    );

    expectProblem(response, 503);
    expect(response.headers['retry-after']).toBe('1');
    expect((await api.getRoute()).status).toBe(404);
  });

  it('commits once when throttling clears within the retry budget', async () => {
    const api = registry(uniqueTenant());
    const { result: response } = await withFault(
      transactionClient,
      {
        command: 'TransactWriteItemsCommand',
        times: 2,
        error: () => new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: { httpStatusCode: 400 } }),
      },
      () => api.putRoute(twoVersionBody()),
    );

    expect(response.status).toBe(201);
    expect(response.headers.etag).toBe('"1"');
    expect((await api.listRevisions()).body.items.map((item) => item.revision)).toEqual([1]);
  });
});
