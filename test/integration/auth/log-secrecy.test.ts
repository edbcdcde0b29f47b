/**
 * A refused token must not reach the logs or the response, at any log level: the error
 * mapper logs the refusal's reason (the `cause`), and the reason never quotes the token.
 */
import { jest } from '@jest/globals';
import { mintLocalToken } from '#local/token';
import { endpoints } from '#shared/http/endpoints';
import { apiGatewayEvent, lambdaContext } from '#test/support/api-gateway-event';

// Log everything: the logger takes its level at creation and returns to it on every warm
// invocation, so set it before the logger's module is first imported.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
const { httpHandler } = await import('#shared/middleware/http-handler');

const handler = httpHandler({
  endpoint: endpoints.getRoute,
  run: async () => ({ status: 200, body: { ok: true } }),
});

/** Everything written to stdout, stderr and the console while `action` runs. */
async function captureOutput<T>(action: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const record = (chunk: unknown): true => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(record),
    jest.spyOn(process.stderr, 'write').mockImplementation(record),
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        chunks.push(args.map(String).join(' '));
      }),
    ),
  ];
  try {
    return { result: await action(), output: chunks.join('\n') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

function invoke(authorization: string, tenant = 'acme') {
  return handler(
    apiGatewayEvent({
      method: 'GET',
      path: `/v1/tenants/${tenant}/routes/checkout/prod`,
      pathParameters: { tenant, service: 'checkout', env: 'prod' },
      headers: { Authorization: authorization, 'x-request-id': 'log-secrecy-test' },
    }),
    lambdaContext(),
  );
}

describe('log secrecy', () => {
  it.each([
    ['401 (wrong audience)', { tenant: 'acme', scope: 'routes:read', audience: 'another-api' }, 401, 'acme'],
    ['401 (expired)', { tenant: 'acme', scope: 'routes:read', expiresIn: -3600 }, 401, 'acme'],
    ['403 (missing scope)', { tenant: 'acme', scope: 'resolve' }, 403, 'acme'],
    ['404 (other tenant)', { tenant: 'acme', scope: 'routes:read' }, 404, 'globex'],
  ] as const)('keeps a real token out of the logs and the response on a %s', async (_name, options, status, tenant) => {
    const token = await mintLocalToken(options);
    const signature = token.split('.')[2] ?? '';
    const { result: response, output } = await captureOutput(() => invoke(`Bearer ${token}`, tenant));

    expect(response.statusCode).toBe(status);
    // The refusal was logged (so the capture works), with its request id...
    expect(output).toContain('request refused');
    expect(output).toContain('log-secrecy-test');
    // ...but neither the token nor any recognisable part of it.
    for (const secret of [token, signature, signature.slice(0, 24)]) {
      expect(output).not.toContain(secret);
      expect(response.body).not.toContain(secret);
      expect(JSON.stringify(response.headers)).not.toContain(secret);
    }
  });

  it('logs why a token was refused, for operators', async () => {
    const token = await mintLocalToken({ tenant: 'acme', scope: 'routes:read', audience: 'another-api' });
    const { output } = await captureOutput(() => invoke(`Bearer ${token}`));
    const refusal = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.message === 'request refused');
    expect(refusal).toMatchObject({
      level: 'INFO',
      status: 401,
      correlation_id: 'log-secrecy-test',
      cause: 'ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "aud" claim value',
    });
  });
});
