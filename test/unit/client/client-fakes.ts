/**
 * Fakes for the client's unit tests: a scheduler whose time only moves when the test says
 * so, and a `fetch` that plays a snapshot endpoint from a script and records each request.
 * The client's loop ends every cycle by scheduling its next timer, so `nextTimer()` is the
 * point where a cycle (request, state, disk write, events) has finished.
 */
import type { FeedChange, Route } from '#shared/domain/route.schema';
import {
  createClient,
  type ChangeEvent,
  type ClientOptions,
  type Scheduler,
  type ScheduledTimer,
  type TrafficManagerClient,
} from '../../../client/index.ts';

interface PendingTimer {
  dueAt: number;
  delayMs: number;
  callback: () => void;
  cancelled: boolean;
}

export class ManualScheduler implements Scheduler {
  time: number;
  readonly timers: PendingTimer[] = [];
  #waiters: ((timer: PendingTimer) => void)[] = [];

  constructor(start = Date.parse('2026-12-01T12:00:00.000Z')) {
    this.time = start;
  }

  now = (): number => this.time;

  schedule(delayMs: number, callback: () => void): ScheduledTimer {
    const timer: PendingTimer = { dueAt: this.time + delayMs, delayMs, callback, cancelled: false };
    this.timers.push(timer);
    for (const waiter of this.#waiters.splice(0)) waiter(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Timers scheduled and neither fired nor cancelled. */
  pending(): PendingTimer[] {
    return this.timers.filter((timer) => !timer.cancelled);
  }

  /** Resolves with the next timer the client schedules (or the pending one, if there is one). */
  nextTimer(): Promise<PendingTimer> {
    const [pending] = this.pending();
    if (pending !== undefined) return Promise.resolve(pending);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Moves time to the pending timer's due time and fires it; returns its delay. */
  async fireNext(): Promise<number> {
    const timer = await this.nextTimer();
    this.time = Math.max(this.time, timer.dueAt);
    this.timers.splice(this.timers.indexOf(timer), 1);
    timer.callback();
    return timer.delayMs;
  }

  /** Fires the pending timer and waits until the cycle it starts has scheduled the next one. */
  async cycle(): Promise<number> {
    const delay = await this.fireNext();
    await this.nextTimer();
    return delay;
  }
}

export interface RecordedRequest {
  url: string;
  headers: Headers;
}

/** What the fake endpoint does for one request. */
export type Reply =
  | { status: 200; routes: Route[]; etag?: string; seq?: number; tenant?: string }
  | { status: 304 }
  | { status: 'error'; code: number; retryAfter?: string; body?: string }
  | { refuse: true }
  | { raw: string; etag?: string };

export class FakeSnapshotEndpoint {
  readonly requests: RecordedRequest[] = [];
  /** Replies in order; the last one repeats. */
  script: Reply[] = [];

  constructor(readonly tenant: string) {}

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    this.requests.push({ url, headers: new Headers(init?.headers) });
    const reply = this.script.length > 1 ? this.script.shift() : this.script[0];
    if (reply === undefined) throw new Error('the fake endpoint has no script');
    if ('refuse' in reply) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    if ('raw' in reply) return new Response(reply.raw, { status: 200, headers: reply.etag === undefined ? {} : { etag: reply.etag } });
    if (reply.status === 304) return new Response(null, { status: 304 });
    if ('routes' in reply) {
      const body = { tenant: reply.tenant ?? this.tenant, routes: reply.routes, ...(reply.seq === undefined ? {} : { seq: reply.seq }) };
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json', ...(reply.etag === undefined ? {} : { etag: reply.etag }) },
      });
    }
    return new Response(reply.body ?? `{"status":${reply.code}}`, {
      status: reply.code,
      headers: { 'content-type': 'application/problem+json', ...(reply.retryAfter === undefined ? {} : { 'retry-after': reply.retryAfter }) },
    });
  };
}

/** A route of `tenant` with two versions, 90/10, at `revision`. */
export function sampleRoute(tenant: string, service: string, revision: number, weights: [number, number] = [90, 10]): Route {
  return {
    tenant,
    service,
    env: 'prod',
    versions: {
      v1: { url: `https://v1.${service}.example`, weight: weights[0], state: 'active' },
      v2: { url: `https://v2.${service}.example`, weight: weights[1], state: 'active' },
    },
    defaultVersion: 'v1',
    rules: [{ header: 'x-canary', equals: '1', version: 'v2' }],
    revision,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    updatedBy: 'test',
  };
}

/** What the fake answers to the next `/changes` request instead of the feed. */
export type FeedOverride = { status: number; body?: string; retryAfter?: string } | { raw: string } | { refuse: true };

/**
 * A tenant with a history, served as the API serves it: the snapshot (`seq`, ETag `"<seq>"`,
 * 304 on a matching `If-None-Match`) and the change feed (`after`, `limit`, `latest`), each
 * change with the route after it and revisions that continue after a deletion. Knobs make
 * it misbehave the ways a follower must survive: scripted answers for the feed, changes the
 * feed leaves out (a gap), an index that has not shown the newest changes yet, a snapshot
 * that is labelled with an older `seq` than its routes, snapshot requests refused.
 */
export class FakeTenantApi {
  readonly requests: RecordedRequest[] = [];
  readonly history: FeedChange[] = [];
  /** Answers for the next `/changes` requests, in order, before the feed itself answers. */
  feedScript: FeedOverride[] = [];
  /** The feed shows changes up to `latest - indexLag` (an eventually consistent index). */
  indexLag = 0;
  /** Sequence numbers the feed leaves out. */
  readonly hidden = new Set<number>();
  /** The snapshot says it is at `seq - snapshotLabelBehind` while its routes are at `seq`. */
  snapshotLabelBehind = 0;
  /** Snapshot requests fail to connect while set. */
  snapshotDown = false;
  readonly #live = new Map<string, Route>();
  readonly #revisions = new Map<string, number>();

  constructor(readonly tenant: string) {}

  get seq(): number {
    return this.history.length;
  }

  /** Creates `service/prod`, or replaces it (another revision). */
  put(service: string, weights: [number, number] = [90, 10]): Route {
    const revision = (this.#revisions.get(service) ?? 0) + 1;
    const kind = this.#live.has(service) ? 'updated' : 'created';
    const created = this.#live.get(service)?.createdAt ?? `2026-12-01T00:00:${String(this.seq % 60).padStart(2, '0')}.000Z`;
    const route = { ...sampleRoute(this.tenant, service, revision, weights), createdAt: created };
    this.#record(service, revision, kind, route);
    return route;
  }

  remove(service: string): void {
    if (!this.#live.has(service)) throw new Error(`${service} is not live`);
    this.#record(service, (this.#revisions.get(service) ?? 0) + 1, 'deleted', null);
  }

  /** The snapshot body the server would send now. */
  snapshotBody(): { tenant: string; seq: number; routes: Route[] } {
    return { tenant: this.tenant, seq: this.seq - this.snapshotLabelBehind, routes: [...this.#live.values()] };
  }

  /** Requests to `resource` (`snapshot` or `changes`), in order. */
  requestsTo(resource: 'snapshot' | 'changes'): URL[] {
    return this.requests.map((request) => new URL(request.url)).filter((url) => url.pathname.endsWith(`/${resource}`));
  }

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init?.headers);
    this.requests.push({ url: href, headers });
    const url = new URL(href);
    if (url.pathname.endsWith('/snapshot')) return this.#snapshot(headers);
    if (url.pathname.endsWith('/changes')) return this.#changes(url);
    return new Response('{"status":404}', { status: 404 });
  };

  #record(service: string, revision: number, kind: FeedChange['kind'], route: Route | null): void {
    this.#revisions.set(service, revision);
    if (route === null) this.#live.delete(service);
    else this.#live.set(service, route);
    const seq = this.seq + 1;
    this.history.push({ seq, service, env: 'prod', revision, kind, route, occurredAt: new Date(Date.UTC(2026, 11, 1, 0, 0, seq)).toISOString() });
  }

  #snapshot(headers: Headers): Response {
    if (this.snapshotDown) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    const body = this.snapshotBody();
    const etag = `"${body.seq}"`;
    if (headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } });
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json', etag } });
  }

  #changes(url: URL): Response {
    const override = this.feedScript.shift();
    if (override !== undefined) {
      if ('refuse' in override) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
      if ('raw' in override) return new Response(override.raw, { status: 200, headers: { 'content-type': 'application/json' } });
      return new Response(override.body ?? `{"status":${override.status}}`, {
        status: override.status,
        headers: { 'content-type': 'application/problem+json', ...(override.retryAfter === undefined ? {} : { 'retry-after': override.retryAfter }) },
      });
    }
    const after = Number(url.searchParams.get('after') ?? '0');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const items = this.history
      .filter((change) => change.seq > after && change.seq <= this.seq - this.indexLag && !this.hidden.has(change.seq))
      .slice(0, limit);
    return new Response(JSON.stringify({ items, latest: this.seq }), { status: 200, headers: { 'content-type': 'application/json' } });
  }
}

/** A client on a manual clock, with the changes and errors it reported. */
export interface ClientHarness {
  client: TrafficManagerClient;
  scheduler: ManualScheduler;
  changes: ChangeEvent[];
  errors: Error[];
}

/** Every client a harness made; `closeHarnessClients()` in an `afterEach` closes them. */
const harnessClients: TrafficManagerClient[] = [];

/**
 * A client of tenant `acme` at https://api.example/prod through `fetch`, on a manual clock,
 * with jitter pinned (0.5: backoff delays sit at 3/4 of their ceiling and poll intervals
 * exactly on the interval) and a 1 s poll interval; `options` override any of it.
 */
export function clientHarness(fetch: typeof globalThis.fetch, options: Partial<ClientOptions> = {}): ClientHarness {
  const scheduler = new ManualScheduler();
  const changes: ChangeEvent[] = [];
  const errors: Error[] = [];
  const client = createClient({
    baseUrl: 'https://api.example/prod',
    tenant: 'acme',
    getToken: () => 'token',
    fetch,
    scheduler,
    random: () => 0.5,
    pollIntervalMs: 1000,
    ...options,
  });
  client.on('change', (event) => changes.push(event));
  client.on('error', (error) => errors.push(error));
  harnessClients.push(client);
  return { client, scheduler, changes, errors };
}

export async function closeHarnessClients(): Promise<void> {
  await Promise.all(harnessClients.splice(0).map((client) => client.close()));
}

