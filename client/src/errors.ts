/**
 * The client's errors. `ResolveError` is what `client.resolve` throws for the cases where
 * the resolve endpoint answers with a problem: the same status (400, 404 or 503) and the same
 * `detail` text, so a data plane can treat a local answer and an HTTP answer alike.
 */

/** Statuses the resolve endpoint answers for a request it cannot resolve. */
export type ResolveErrorStatus = 400 | 404 | 503;

const titles: Record<ResolveErrorStatus, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  503: 'Service Unavailable',
};

export class ResolveError extends Error {
  readonly status: ResolveErrorStatus;
  /** The problem title the server would send with this status. */
  readonly title: string;

  constructor(status: ResolveErrorStatus, detail: string, options: { cause?: unknown } = {}) {
    super(detail, options);
    this.name = 'ResolveError';
    this.status = status;
    this.title = titles[status];
  }
}

/** Why loading or refreshing the tenant's state failed (one round trip). */
export class SnapshotFetchError extends Error {
  /** The HTTP status, or undefined when no response arrived (refused, reset, timed out). */
  readonly status: number | undefined;
  /** From a `Retry-After` header (429, 503), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SnapshotFetchError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /**
   * A failure that retrying cannot fix: the request itself is wrong (400), the token lacks
   * the scope (403), or the tenant is not the token's (404). `start()` gives up on these at
   * once; every other failure (no answer, 401 while a token rotates, 429, 5xx, a malformed
   * body) is retried with backoff.
   */
  get permanent(): boolean {
    return this.status === 400 || this.status === 403 || this.status === 404;
  }
}

/** Why the change feed could not continue from the held state (the feed is not the contract's). */
export type ChangeFeedProblem =
  /** The feed refuses this client (400, 403, 404, 405, 501): the follower polls the snapshot from now on. */
  | 'unavailable'
  /** A page is not JSON or fails the checks a snapshot's routes pass. */
  | 'malformed'
  /** A change does not follow the held state: its `seq` skips one, or its route's revision skips one. */
  | 'gap'
  /** The feed's `latest` is below the held state's `seq` (the tenant's history is not the one the state came from). */
  | 'behind';

/**
 * The change feed answered something the follower cannot apply, so this round loaded the
 * snapshot instead. Reported as an `error` event; the state stays whole and current.
 */
export class ChangeFeedError extends Error {
  readonly problem: ChangeFeedProblem;
  /** The feed's HTTP status for `unavailable`. */
  readonly status: number | undefined;

  constructor(problem: ChangeFeedProblem, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(`change feed ${problem}: ${message}; following the snapshot instead`, { cause: options.cause });
    this.name = 'ChangeFeedError';
    this.problem = problem;
    this.status = options.status;
  }
}

/** `start()` was still waiting for the first snapshot when `close()` was called. */
export class ClientClosedError extends Error {
  constructor() {
    super('The client was closed.');
    this.name = 'ClientClosedError';
  }
}
