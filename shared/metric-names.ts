/**
 * Every custom CloudWatch metric the functions emit (through Powertools' EMF, in the
 * namespace of `POWERTOOLS_METRICS_NAMESPACE`, dimension `service`). One home for the
 * names: the code that emits a metric and the dashboard and alarms that read it both
 * import them from here, and an infra test fails when a name here is never emitted.
 */
export const metricNames = {
  /** Every HTTP request that reached a function. */
  requests: 'Requests',
  /** Answers 4xx. */
  clientErrors: 'ClientError',
  /** Answers 5xx (dependency down, nothing to route to, or a bug). */
  serverErrors: 'ServerError',

  /** Resolve answered from a fresh cached route. */
  routeCacheHits: 'RouteCacheHit',
  /** Resolve had to load the route from the table. */
  routeCacheMisses: 'RouteCacheMiss',
  /** Resolve served a last-known-good route because the table failed (stale-if-error). */
  staleResolveAnswers: 'RouteCacheStale',
  /** The resolve path's circuit breaker opened (the table failed too often in a row). */
  resolveBreakerOpened: 'ResolveBreakerOpened',

  /** A write committed a revision. */
  writesCommitted: 'WriteCommitted',
  /** A write lost a race (or a transaction conflict) and was retried on a fresh read. */
  writeConflicts: 'WriteConflict',
  /** A write refused by its caller's precondition (412). */
  writePreconditionFailures: 'WritePreconditionFailed',
  /** A write whose outcome could not be learned: answered 503 outcome-unknown. */
  writeOutcomesUnknown: 'WriteOutcomeUnknown',

  /** Route events accepted by the bus. */
  routeEventsPublished: 'RouteEventsPublished',
  /** Stream records handed back to the event source mapping to retry. */
  routeEventRecordsFailed: 'RouteEventRecordsFailed',
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];
