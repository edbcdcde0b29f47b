/**
 * How the client learns what changed. A `StateFollower` makes one round trip that brings
 * the client's state up to date; the client owns the loop, the timing, the backoff and the
 * state. Today the only follower polls the snapshot with `If-None-Match`. When the change
 * feed (`GET /v1/tenants/{t}/changes?after=<seq>`, API.md "Change feed and snapshot")
 * exists, a `ChangeFeedFollower` can implement the same interface: load the snapshot once
 * (for its `seq`), then ask for the changes after the state's `seq` and apply them to a copy
 * of the routes, falling back to the snapshot when the feed cannot continue. Nothing else in
 * the client has to change.
 */
import { SnapshotFetchError } from './errors.ts';
import { parseSnapshot, type TenantState } from './tenant-state.ts';

export type FollowOutcome =
  /** The server confirmed that `current` is still the tenant's state. */
  | { kind: 'unchanged' }
  /** The state to hold from now on (it may equal the current one in content). */
  | { kind: 'replaced'; state: TenantState };

export interface StateFollower {
  /**
   * One round trip. Throws a `SnapshotFetchError` for any failure; never returns a state
   * that failed its checks.
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

/** Polls `GET /v1/tenants/{tenant}/snapshot`, sending the held state's ETag as `If-None-Match`. */
export class SnapshotPoller implements StateFollower {
  readonly #options: SnapshotPollerOptions;
  readonly #url: string;

  constructor(options: SnapshotPollerOptions) {
    this.#options = options;
    this.#url = new URL(`v1/tenants/${encodeURIComponent(options.tenant)}/snapshot`, withTrailingSlash(options.baseUrl)).href;
  }

  async follow(current: TenantState | undefined, signal: AbortSignal): Promise<FollowOutcome> {
    const { tenant, requestTimeoutMs } = this.#options;
    let token: string;
    try {
      token = await this.#options.getToken();
    } catch (cause) {
      throw new SnapshotFetchError('getToken failed', { cause });
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (current?.etag !== undefined) headers['if-none-match'] = current.etag;

    let response: Response;
    try {
      response = await this.#options.fetch(this.#url, {
        headers,
        signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
    } catch (cause) {
      throw new SnapshotFetchError(`GET ${this.#url} failed: ${describe(cause)}`, { cause });
    }

    if (response.status === 304) {
      await response.body?.cancel();
      if (current === undefined) throw new SnapshotFetchError('304 Not Modified without a held snapshot', { status: 304 });
      return { kind: 'unchanged' };
    }
    if (response.status !== 200) {
      // The problem body is read for the message only; its content decides nothing.
      const detail = await response.text().catch(() => '');
      const retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
      throw new SnapshotFetchError(`GET ${this.#url} answered ${response.status}: ${detail.slice(0, 300)}`, {
        status: response.status,
        ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw new SnapshotFetchError('the snapshot is not JSON', { status: 200, cause });
    }
    try {
      return { kind: 'replaced', state: parseSnapshot(body, tenant, response.headers.get('etag') ?? undefined) };
    } catch (cause) {
      throw new SnapshotFetchError(describe(cause), { status: 200, cause });
    }
  }
}

function withTrailingSlash(baseUrl: string): string {
  return baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch's TypeError("fetch failed") hides the reason (ECONNREFUSED, ...) in its cause.
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
