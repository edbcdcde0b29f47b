/**
 * Fakes for the client's unit tests: a scheduler whose time only moves when the test says
 * so, and a `fetch` that plays a snapshot endpoint from a script and records each request.
 * The client's loop ends every cycle by scheduling its next timer, so `nextTimer()` is the
 * point where a cycle (request, state, disk write, events) has finished.
 */
import type { Route } from '#shared/domain/route.schema';
import type { Scheduler, ScheduledTimer } from '../../../client/index.ts';

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
