/**
 * Follows the tenant's change feed (API.md, "Change feed and snapshot"): the first state
 * comes from the snapshot (for its `seq`); each round then asks
 * `GET /v1/tenants/{tenant}/changes?after=<seq>` and applies the changes to a copy of the
 * routes, page after page until the feed's `latest`. An unchanged tenant costs one small
 * request, as a 304 does; a change costs the changed routes, not every route.
 *
 * The snapshot stays the way back to a known state. A round loads it instead when:
 * - the feed cannot continue from the held state (a `seq` or revision that skips one, a
 *   `latest` below the held `seq`, a malformed page): reported as a `ChangeFeedError`;
 * - the feed refuses the client (400, 403, 404, 405, 501, e.g. a token scope or a server
 *   without the feed): reported once, and every later round polls the snapshot;
 * - the state is further behind than it has routes (and than one page): the snapshot is
 *   then the smaller read;
 * - the feed's index has not yet shown any of the changes its `latest` counts (it is
 *   eventually consistent), so the round would otherwise confirm a state it knows is old.
 * A transient failure (no answer, 401, 429, 5xx) is thrown like the poller's and retried
 * with backoff; the held state is untouched.
 */
import { ChangeFeedError, SnapshotFetchError } from './errors.ts';
import {
  authorizedGet,
  describe,
  failureOf,
  SnapshotPoller,
  tenantUrl,
  type FollowOutcome,
  type SnapshotPollerOptions,
  type StateFollower,
} from './state-follower.ts';
import { applyChanges, parseChangePage, type ChangePage, type SequencedState, type TenantState } from './tenant-state.ts';

export interface ChangeFeedFollowerOptions extends SnapshotPollerOptions {
  /** Changes asked for per page (the feed's `limit`, 1..1000). @default 1000 */
  pageSize?: number;
  /** Hears why a round loaded the snapshot instead of the feed; the client reports it as an `error` event. */
  onFallback?: (error: ChangeFeedError) => void;
}

/** Statuses that say the feed is not for this client, whatever it asks: retrying cannot help. */
const refusedStatuses: ReadonlySet<number> = new Set([400, 403, 404, 405, 501]);

const isSequenced = (state: TenantState): state is SequencedState => state.seq !== undefined;

export class ChangeFeedFollower implements StateFollower {
  readonly #options: ChangeFeedFollowerOptions;
  readonly #snapshot: SnapshotPoller;
  readonly #url: URL;
  readonly #pageSize: number;
  /** Set once the feed refused the client: from then on every round polls the snapshot. */
  #feedRefused = false;

  constructor(options: ChangeFeedFollowerOptions) {
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new RangeError('pageSize must be an integer in 1..1000');
    this.#options = options;
    this.#pageSize = pageSize;
    this.#snapshot = new SnapshotPoller(options);
    this.#url = tenantUrl(options.baseUrl, options.tenant, 'changes');
  }

  async follow(current: TenantState | undefined, signal: AbortSignal): Promise<FollowOutcome> {
    if (current === undefined || !isSequenced(current) || this.#feedRefused) return this.#snapshot.follow(current, signal);
    let outcome: FollowOutcome | 'snapshot';
    try {
      outcome = await this.#followFeed(current, signal);
    } catch (error) {
      if (!(error instanceof ChangeFeedError)) throw error;
      if (error.problem === 'unavailable') this.#feedRefused = true;
      this.#options.onFallback?.(error);
      outcome = 'snapshot';
    }
    return outcome === 'snapshot' ? this.#snapshot.follow(current, signal) : outcome;
  }

  /** The feed's pages from `current.seq` on; 'snapshot' when the snapshot is the better read. */
  async #followFeed(current: SequencedState, signal: AbortSignal): Promise<FollowOutcome | 'snapshot'> {
    let state: SequencedState = current;
    let latest = current.seq;
    for (let page = 0; ; page += 1) {
      const { items, latest: pageLatest } = await this.#page(state.seq, signal);
      if (pageLatest < state.seq) throw new ChangeFeedError('behind', `latest is ${pageLatest}, the state is at ${state.seq}`);
      latest = Math.max(latest, pageLatest);
      // Each change carries a whole route: past this many, the snapshot is less to read.
      if (page === 0 && latest - state.seq > Math.max(this.#pageSize, state.routes.size)) return 'snapshot';
      if (items.length === 0) break;
      state = applyChanges(state, items);
      // The feed reads the sequence and the index at the same time: a change may show before `latest` counts it.
      latest = Math.max(latest, state.seq);
      if (state.seq === latest) break;
    }
    if (state === current) return latest === current.seq ? { kind: 'unchanged' } : 'snapshot';
    // Behind `latest` here only while the index catches up; the next round continues, and
    // until then the state is not confirmed current.
    return state.seq < latest ? { kind: 'replaced', state, confirmed: false } : { kind: 'replaced', state };
  }

  async #page(after: number, signal: AbortSignal): Promise<ChangePage> {
    const url = new URL(this.#url);
    url.searchParams.set('after', String(after));
    url.searchParams.set('limit', String(this.#pageSize));
    const response = await authorizedGet(this.#options, url.href, signal);
    if (refusedStatuses.has(response.status)) {
      const failure = await failureOf(response, url.href);
      throw new ChangeFeedError('unavailable', failure.message, { status: response.status, cause: failure });
    }
    if (response.status !== 200) throw await failureOf(response, url.href);
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      // A body cut off in transit is a transport failure, retried; only a whole body that is not JSON is the feed's fault.
      throw new SnapshotFetchError(`GET ${url.href} failed: ${describe(cause)}`, { cause });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (cause) {
      throw new ChangeFeedError('malformed', 'the page is not JSON', { cause });
    }
    try {
      return parseChangePage(body, this.#options.tenant);
    } catch (cause) {
      throw new ChangeFeedError('malformed', describe(cause), { cause });
    }
  }
}
