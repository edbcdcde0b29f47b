/**
 * Refusals only the gateway makes (API Gateway's own responses, never a function's): they
 * live with the local gateway, not in shared/errors, since no handler may raise them.
 */
import { HttpError } from '#shared/errors/http-errors';

/** The request line and headers are over the gateway's limit. */
export class HeaderFieldsTooLargeError extends HttpError {
  readonly status = 431;
  readonly title = 'Request Header Fields Too Large';
  readonly slug = 'header-fields-too-large';
}

/** The function did not answer within the integration timeout (API Gateway: 29 s). */
export class GatewayTimeoutError extends HttpError {
  readonly status = 504;
  readonly title = 'Gateway Timeout';
  readonly slug = 'gateway-timeout';
}

/** The request could not be parsed as HTTP. */
export class MalformedRequestError extends HttpError {
  readonly status = 400;
  readonly title = 'Bad Request';
  readonly slug = 'bad-request';
}
