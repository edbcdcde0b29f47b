/**
 * @traffic-manager/client: resolve traffic-manager routes in-process. See client/README.md.
 */
export { createClient, TrafficManagerClient } from './src/client.ts';
export type {
  ChangeEvent,
  ClientEventName,
  ClientListener,
  ClientOptions,
  RequestHeaders,
  ResolveOptions,
} from './src/client.ts';
export {
  ChangeFeedError,
  ClientClosedError,
  ResolveError,
  SnapshotFetchError,
  type ChangeFeedProblem,
  type ResolveErrorStatus,
} from './src/errors.ts';
export { backoffDelay, type BackoffOptions } from './src/backoff.ts';
export type { Scheduler, ScheduledTimer } from './src/scheduler.ts';
export { ChangeFeedFollower, type ChangeFeedFollowerOptions } from './src/change-feed-follower.ts';
export { SnapshotPoller, type FollowOutcome, type SnapshotPollerOptions, type StateFollower } from './src/state-follower.ts';
export type { RouteChange, TenantState } from './src/tenant-state.ts';
export type { Resolution, ResolveReason } from '../shared/domain/resolve.ts';
export type { Route, Rule, Version, VersionState } from '../shared/domain/route.schema.ts';
