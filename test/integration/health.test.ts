import { handler as getHealth } from '#functions/health/get-health';
import { handler as getLive } from '#functions/health/get-live';
import { handler as getReady } from '#functions/health/get-ready';
import { dynamoDbClient } from '#shared/clients/dynamodb';
import { eventBridgeClient } from '#shared/clients/eventbridge';
import { checkDeadlineMs, healthReport, runCheck, runChecks } from '#shared/health/health-checks';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';

describe('health endpoints against the emulator', () => {
  it('reports live without calling anything', async () => {
    const calls: string[] = [];
    dynamoDbClient.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countLiveDynamoDbCalls' },
    );
    eventBridgeClient.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countLiveEventBridgeCalls' },
    );
    try {
      const live = await getLive(apiGatewayEvent({ method: 'GET', path: '/health/live' }), lambdaContext());
      expect(live.statusCode).toBe(200);
      expect(JSON.parse(live.body)).toEqual({ status: 'ok' });
      expect(calls).toEqual([]);
      // The counter counts: ready makes one call to each.
      await getReady(apiGatewayEvent({ method: 'GET', path: '/health/ready' }), lambdaContext());
      expect(calls.sort()).toEqual(['DescribeEventBusCommand', 'DescribeTableCommand']);
    } finally {
      dynamoDbClient.middlewareStack.remove('countLiveDynamoDbCalls');
      eventBridgeClient.middlewareStack.remove('countLiveEventBridgeCalls');
    }
  });

  it('takes its per-check deadline from HEALTH_CHECK_DEADLINE_MS (the local stack gives 9 s)', () => {
    expect(process.env.HEALTH_CHECK_DEADLINE_MS).toBe('9000');
    expect(checkDeadlineMs).toBe(9_000);
  });

  it('reports ready when the table and the bus answer', async () => {
    const response = await getReady(apiGatewayEvent({ method: 'GET', path: '/health/ready' }), lambdaContext());
    expect(response.statusCode).toBe(200);
  });

  it('reports each dependency with its latency', async () => {
    const response = await getHealth(apiGatewayEvent({ method: 'GET', path: '/health' }), lambdaContext());
    const body = JSON.parse(response.body) as { checks: Record<string, { status: string; latencyMs: number }> };
    expect(response.statusCode).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual(['dynamodb', 'eventbridge']);
    for (const check of Object.values(body.checks)) {
      expect(check.status).toBe('up');
      expect(check.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it.each(['trace-abc-123', 'Root=1-5f84c7a1-6c3e1b2a9d0f4e7c8b1a2d3e;Parent=53995c3f42cd8ad8', 'a/b+c=='])(
    'echoes the caller x-request-id %s',
    async (given) => {
      const response = await getLive(
        apiGatewayEvent({ method: 'GET', path: '/health/live', headers: { 'X-Request-Id': given } }),
        lambdaContext(),
      );
      expect(response.headers?.['x-request-id']).toBe(given);
    },
  );

  it.each(['has spaces', 'x'.repeat(201), 'tab\there'])('replaces an x-request-id it cannot echo safely (%#)', async (given) => {
    const event = apiGatewayEvent({ method: 'GET', path: '/health/live', headers: { 'X-Request-Id': given } });
    const response = await getLive(event, lambdaContext());
    expect(response.headers?.['x-request-id']).toBe(event.requestContext.requestId);
  });
});

describe('health checks', () => {
  it('counts a dependency that misses its deadline as down', async () => {
    const result = await runCheck(
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      50,
    );
    expect(result.status).toBe('down');
    expect(result.error).toBe('TimeoutError');
  });

  it('names every failing dependency in a 503', async () => {
    const checks = await runChecks({
      dynamodb: async () => undefined,
      eventbridge: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      },
    });
    expect(() => healthReport(checks)).toThrow('Unavailable: eventbridge.');
    expect(checks.eventbridge).toMatchObject({ status: 'down', error: 'ECONNREFUSED' });
  });
});
