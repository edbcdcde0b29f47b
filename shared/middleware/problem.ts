/**
 * The one mapping from errors to RFC 9457 problem responses. `HttpError`s (the 4xx and
 * the chosen 503s) expose their detail; anything else is a 500 with a fixed message and the request id, and
 * its cause goes to the log, never to the caller.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { HttpError } from '../errors/http-errors.ts';

export const problemTypeBase = 'https://traffic-manager.dev/problems/';
const problemContentType = 'application/problem+json';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

export function problemFor(
  error: unknown,
  requestId: string,
  instance?: string,
): { body: ProblemBody; headers: Record<string, string> } {
  if (error instanceof HttpError) {
    return {
      body: {
        ...error.extensions,
        type: problemTypeBase + error.slug,
        title: error.title,
        status: error.status,
        detail: error.message,
        ...(instance === undefined ? {} : { instance }),
        requestId,
        ...(error.errors === undefined ? {} : { errors: error.errors }),
      },
      headers: error.headers,
    };
  }
  return {
    body: {
      type: problemTypeBase + 'internal',
      title: 'Internal Server Error',
      status: 500,
      detail: `An unexpected error occurred. Quote request id ${requestId} when reporting it.`,
      ...(instance === undefined ? {} : { instance }),
      requestId,
    },
    headers: {},
  };
}

/**
 * The problem response for `error`. `requestId` is the server's id of the request (in the
 * body, for finding its logs); `correlationId` the caller's `x-request-id`, when it sent
 * one, which the body carries too and the `x-request-id` header echoes.
 */
export function problemResponse(
  error: unknown,
  requestId: string,
  instance?: string,
  correlationId?: string,
): APIGatewayProxyResult {
  const { body, headers } = problemFor(error, requestId, instance);
  return {
    statusCode: body.status,
    headers: { ...headers, 'Content-Type': problemContentType, 'x-request-id': correlationId ?? requestId },
    body: JSON.stringify(correlationId === undefined ? body : { ...body, correlationId }),
  };
}
