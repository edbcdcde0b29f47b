/**
 * The one error hierarchy of the project. Every error that should reach a caller as
 * something other than a 500 is an `HttpError`; shared/middleware/problem.ts turns it into
 * an RFC 9457 problem body (called by the handler factory's error mapper and the local
 * gateway), and is the only place that does.
 */

/** One failing field of a validation error, `path` in dotted form (`versions.v2.url`). */
export interface FieldError {
  path: string;
  message: string;
}

interface HttpErrorOptions {
  cause?: unknown;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  errors?: FieldError[];
  /** RFC 9457 extension members added to the problem body (never secrets). */
  extensions?: Record<string, unknown>;
}

/** Seconds a caller is asked to wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

export abstract class HttpError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** The problem type's last segment: `https://traffic-manager.dev/problems/<slug>`. */
  abstract readonly slug: string;
  readonly headers: Record<string, string>;
  readonly errors: FieldError[] | undefined;
  readonly extensions: Record<string, unknown>;

  constructor(detail: string, options: HttpErrorOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = new.target.name;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
  }
}

export class ValidationError extends HttpError {
  readonly status = 400;
  readonly title = 'Bad Request';
  readonly slug = 'validation';
  constructor(detail: string, errors: FieldError[] = [], options: HttpErrorOptions = {}) {
    super(detail, { ...options, errors });
  }
}

export class UnauthorizedError extends HttpError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  readonly slug = 'unauthorized';
  constructor(options: HttpErrorOptions = {}) {
    // The reason stays in the logs (cause); the caller learns only that the token was refused.
    super('A valid bearer token is required.', {
      ...options,
      headers: { 'WWW-Authenticate': 'Bearer', ...options.headers },
    });
  }
}

export class ForbiddenError extends HttpError {
  readonly status = 403;
  readonly title = 'Forbidden';
  readonly slug = 'forbidden';
}

export class NotFoundError extends HttpError {
  readonly status = 404;
  readonly title = 'Not Found';
  readonly slug = 'not-found';
}

/**
 * The one answer for a route that cannot be seen: absent, deleted, or another tenant's.
 * Always the same text, so that the answer says nothing about what exists elsewhere.
 */
export class RouteNotFoundError extends NotFoundError {
  constructor(options: HttpErrorOptions = {}) {
    super('No such route.', options);
  }
}

export class ConflictError extends HttpError {
  readonly status = 409;
  readonly title = 'Conflict';
  readonly slug = 'conflict';
}

export class PreconditionFailedError extends HttpError {
  readonly status = 412;
  readonly title = 'Precondition Failed';
  readonly slug = 'precondition-failed';
}

export class PayloadTooLargeError extends HttpError {
  readonly status = 413;
  readonly title = 'Content Too Large';
  readonly slug = 'payload-too-large';
}

export class UnsupportedMediaTypeError extends HttpError {
  readonly status = 415;
  readonly title = 'Unsupported Media Type';
  readonly slug = 'unsupported-media-type';
}

export class UnprocessableContentError extends HttpError {
  readonly status = 422;
  readonly title = 'Unprocessable Content';
  readonly slug = 'unprocessable';
}

export class TooManyRequestsError extends HttpError {
  readonly status = 429;
  readonly title = 'Too Many Requests';
  readonly slug = 'too-many-requests';
  constructor(retryAfterSeconds: number, options: HttpErrorOptions = {}) {
    super('Rate limit exceeded; retry later.', {
      ...options,
      headers: { 'Retry-After': String(retryAfterSeconds), ...options.headers },
    });
  }
}

export class ServiceUnavailableError extends HttpError {
  readonly status = 503;
  readonly title = 'Service Unavailable';
  readonly slug: string = 'unavailable';
  constructor(detail: string, retryAfterSeconds?: number, options: HttpErrorOptions = {}) {
    super(detail, {
      ...options,
      headers:
        retryAfterSeconds === undefined
          ? options.headers
          : { 'Retry-After': String(retryAfterSeconds), ...options.headers },
    });
  }
}

/**
 * A write was sent and the store did not answer in time, so whether it committed is unknown
 * (API.md, "Failure means nothing committed"): the only 5xx that may have committed.
 */
export class OutcomeUnknownError extends ServiceUnavailableError {
  override readonly slug: string = 'outcome-unknown';
}

/** A configuration that cannot be used: thrown at cold start, never mapped to a caller. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
