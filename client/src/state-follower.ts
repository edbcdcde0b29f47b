/**
 * How the client learns what changed. A `StateFollower` makes one round (one request, or a
 * few for the change feed) that brings the client's state up to date; the client owns the
 * loop, the timing, the backoff and the state. Two followers exist: the `SnapshotPoller`
 * here (the snapshot with `If-None-Match`) and the `ChangeFeedFollower`
 * (./change-feed-follower.ts), which applies the changes after the state's `seq` and uses
 * the poller for the first load and whenever the feed cannot continue.
 */
import { SnapshotFetchError } from './errors.ts';
import { parseSnapshot, type TenantState } from './tenant-state.ts';

export type FollowOutcome =
  /** The server confirmed that `current` is still the tenant's state. */
  | { kind: 'unchanged' }
  /**
   * The state to hold from now on (it may equal the current one in content). `confirmed:
   * false` when the server showed that it is not yet the newest (the change feed's index
   * lagging): newer than what was held, but `staleness()` keeps counting.
   */
  | { kind: 'replaced'; state: TenantState; confirmed?: false };

export interface StateFollower {
  /**
   * One round. Throws a `SnapshotFetchError` for any failure, leaving `current` as it was;
   * never returns a state that failed its checks.
   */
  follow(current: TenantState | undefined, signal: AbortSignal): Promise<FollowOutcome>;
}

export interface SnapshotPollerOptions {
  baseUrl: string;
  tenant: string;
  getToken: () => string | Promise<string>;
  fetch: typeof fetch;
  /** A round trip that takes longer is aborted and counts as a failure. */
  requestTimeoutMs: number;
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from `now`. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The URL of a tenant resource under the API's base URL (which may carry a stage path). */
export function tenantUrl(baseUrl: string, tenant: string, resource: string): URL {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(`v1/tenants/${encodeURIComponent(tenant)}/${resource}`, base);
}

/**
 * One authorised GET, aborted by `signal` or after `requestTimeoutMs`. Throws a
 * `SnapshotFetchError` when the token cannot be had or no response arrives; returns any
 * response that does arrive, whatever its status.
 */
export async function authorizedGet(
  options: Pick<SnapshotPollerOptions, 'getToken' | 'fetch' | 'requestTimeoutMs'>,
  url: string,
  signal: AbortSignal,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  let token: string;
  try {
    token = await options.getToken();
  } catch (cause) {
    throw new SnapshotFetchError('getToken failed', { cause });
  }
  try {
    return await options.fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...extraHeaders },
      signal: AbortSignal.any([signal, AbortSignal.timeout(options.requestTimeoutMs)]),
    });
  } catch (cause) {
    throw new SnapshotFetchError(`GET ${url} failed: ${describe(cause)}`, { cause });
  }
}

/** The failure a response other than the one expected stands for, with its `Retry-After`. */
export async function failureOf(response: Response, url: string): Promise<SnapshotFetchError> {
  // The problem body is read for the message only; its content decides nothing.
  const detail = await response.text().catch(() => '');
  const retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
  return new SnapshotFetchError(`GET ${url} answered ${response.status}: ${detail.slice(0, 300)}`, {
    status: response.status,
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
  });
}

/** Polls `GET /v1/tenants/{tenant}/snapshot`, sending the held state's ETag as `If-None-Match`. */
export class SnapshotPoller implements StateFollower {
  readonly #options: SnapshotPollerOptions;
  readonly #url: string;

  constructor(options: SnapshotPollerOptions) {
    this.#options = options;
    this.#url = tenantUrl(options.baseUrl, options.tenant, 'snapshot').href;
  }

  async follow(current: TenantState | undefined, signal: AbortSignal): Promise<FollowOutcome> {
    const headers: Record<string, string> = current?.etag === undefined ? {} : { 'if-none-match': current.etag };
    const response = await authorizedGet(this.#options, this.#url, signal, headers);
    if (response.status === 304) {
      await response.body?.cancel();
      if (current === undefined) throw new SnapshotFetchError('304 Not Modified without a held snapshot', { status: 304 });
      return { kind: 'unchanged' };
    }
    if (response.status !== 200) throw await failureOf(response, this.#url);
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw new SnapshotFetchError('the snapshot is not JSON', { status: 200, cause });
    }
    try {
      return { kind: 'replaced', state: parseSnapshot(body, this.#options.tenant, response.headers.get('etag') ?? undefined) };
    } catch (cause) {
      throw new SnapshotFetchError(describe(cause), { status: 200, cause });
    }
  }
}

/** An error's message, with the reason that fetch's errors keep in their cause. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch's TypeError("fetch failed") hides the reason (ECONNREFUSED, ...) in its cause.
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
