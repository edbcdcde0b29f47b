/**
 * The local gateway under the faults issue 7 found: a refused body must not break the
 * keep-alive connection after it, oversized headers get a problem body, a function slower
 * than the integration timeout gets the caller a 504 problem, and concurrent invocations
 * each log with their own Lambda context (request id, function name).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { jest } from '@jest/globals';
import type { LocalServer } from '#local/server';
import { endpoints, type EndpointDefinition } from '#shared/http/endpoints';
import { logger } from '#shared/observability';
import { startTestApi } from '#test/support/local-stack';

const logProbe = (id: string): EndpointDefinition => ({
  ...endpoints.getLive,
  id,
  path: `/probe/${id}`,
  entry: 'test/support/fixtures/log-context-probe.ts',
});
const probes = [logProbe('probeAlpha'), logProbe('probeBeta')];
const slow: EndpointDefinition = { ...endpoints.getLive, id: 'slowProbe', path: '/probe/slow', entry: 'test/support/fixtures/slow-handler.ts' };
const concurrency: EndpointDefinition = {
  ...endpoints.getLive,
  id: 'concurrencyProbe',
  path: '/probe/concurrency',
  entry: 'test/support/fixtures/concurrency-probe.ts',
};
const integrationTimeoutMs = 300;
const maxConcurrentInvocations = 2;

let server: LocalServer;

beforeAll(async () => {
  server = await startTestApi({
    throttle: false,
    endpoints: [endpoints.getLive, endpoints.putRoute, ...probes, slow, concurrency],
    integrationTimeoutMs,
    // Above the log probe's round of 6, which must all run at once.
    maxConcurrentInvocations: 8,
  });
});

afterAll(async () => {
  await server.close();
});

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

/** One request through `agent`, with the socket it went over. */
function send(agent: Agent, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = httpRequest(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), socket: res.socket }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the local gateway', () => {
  it('runs at most maxConcurrentInvocations at once and lets the rest wait their turn, all answered', async () => {
    const limited = await startTestApi({ throttle: false, endpoints: [concurrency], maxConcurrentInvocations });
    try {
      const answers = await Promise.all(
        Array.from({ length: 12 }, async () => {
          const response = await fetch(`${limited.url}/probe/concurrency`);
          return { status: response.status, ...((await response.json()) as { runningAtStart: number }) };
        }),
      );
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      expect(Math.max(...answers.map((answer) => answer.runningAtStart))).toBe(maxConcurrentInvocations);
    } finally {
      await limited.close();
    }
  });

  it('answers 413 to an 11 MB body and serves the next request on the same keep-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<Socket>();
      const big = Buffer.alloc(11 * 1024 * 1024, 'a');
      const refused = await send(agent, 'PUT', '/v1/tenants/acme/routes/checkout/prod', big, { 'content-type': 'application/json' });
      sockets.add(refused.socket);
      expect(refused.status).toBe(413);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.headers.connection).not.toBe('close');

      const next = await send(agent, 'GET', '/health/live');
      sockets.add(next.socket);
      expect({ status: next.status, body: next.body }).toEqual({ status: 200, body: JSON.stringify({ status: 'ok' }) });
      // The same connection carried both: the refusal did not reset it.
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('answers headers over 64 KiB with a 431 problem body carrying x-request-id', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(server.url);
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(70 * 1024)}\r\n\r\n`);
      });
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head.toLowerCase()).toContain('content-type: application/problem+json');
    const requestId = /x-request-id: (\S+)/i.exec(head)?.[1];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(body)).toMatchObject({ status: 431, title: 'Request Header Fields Too Large', requestId });
  });

  it('answers 504 with a problem body when the function outlasts the integration timeout', async () => {
    const response = await fetch(`${server.url}/probe/slow?delayMs=${integrationTimeoutMs * 10}`, {
      headers: { 'x-request-id': 'slow-1' },
    });
    expect(response.status).toBe(504);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-request-id')).toBe('slow-1');
    expect(await response.json()).toMatchObject({ status: 504, title: 'Gateway Timeout' });
  });

  it('gives concurrent invocations their own logger context: each line carries its own request id and function name', async () => {
    const lines: string[] = [];
    // The logger's own console (it writes to the process's stdout, not through Jest's console).
    const { console: loggerConsole } = logger as unknown as { console: Console };
    const write = jest.spyOn(loggerConsole, 'warn').mockImplementation((line: unknown) => {
      if (typeof line === 'string' && line.includes('log context probe')) lines.push(line);
    });
    const round = randomUUID();
    const requests = Array.from({ length: 6 }, (_, index) => ({
      sent: `probe-${round}-${index}`,
      endpoint: probes[index % probes.length] as EndpointDefinition,
    }));
    let answers: { sent: string; functionName: string; awsRequestId: string }[];
    try {
      answers = await Promise.all(
        requests.map(async ({ sent, endpoint }) => {
          const response = await fetch(`${server.url}${endpoint.path}?round=${round}&of=${requests.length}`, {
            headers: { 'x-request-id': sent },
          });
          expect(response.status).toBe(200);
          return { sent, ...((await response.json()) as { functionName: string; awsRequestId: string }) };
        }),
      );
    } finally {
      write.mockRestore();
    }

    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toHaveLength(requests.length);
    for (const answer of answers) {
      const line = logged.find((entry) => entry.sentRequestId === answer.sent);
      expect({ sent: answer.sent, requestId: line?.function_request_id, functionName: line?.function_name }).toEqual({
        sent: answer.sent,
        requestId: answer.awsRequestId,
        functionName: answer.functionName,
      });
    }
    // Both functions were among them, so a shared context would have shown.
    expect(new Set(answers.map((answer) => answer.functionName)).size).toBe(2);
  });
});
