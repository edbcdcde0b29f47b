/**
 * Dependency checks for /health and /health/ready: each one calls the dependency for real
 * (DescribeTable, DescribeEventBus), bounded by a deadline, and reports status and latency.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { healthCheckEnv, parseEnv } from '../config.ts';
import { ServiceUnavailableError } from '../errors/http-errors.ts';
import { dynamoDbClient, tableName } from '../clients/dynamodb.ts';
import { eventBridgeClient, eventBusName } from '../clients/eventbridge.ts';

interface CheckResult {
  status: 'up' | 'down';
  latencyMs: number;
  /** The error's class name only: health is public, so no messages or resource names. */
  error?: string;
}

type Check = (signal: AbortSignal) => Promise<unknown>;

export const checkDeadlineMs = parseEnv(healthCheckEnv).HEALTH_CHECK_DEADLINE_MS;

const dependencyChecks: Record<string, Check> = {
  dynamodb: (abortSignal) => dynamoDbClient.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal }),
  eventbridge: (abortSignal) =>
    eventBridgeClient.send(new DescribeEventBusCommand({ Name: eventBusName }), { abortSignal }),
};

/** A short, non-sensitive label: the SDK's error name, or the socket error code. */
function errorKind(error: unknown): string {
  // Duck-typed: an abort reason is a DOMException, not always an Error of this realm.
  if (typeof error !== 'object' || error === null) return 'Error';
  const { name, code } = error as { name?: unknown; code?: unknown };
  if ((name === undefined || name === 'Error') && typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'Error';
}

export async function runCheck(check: Check, deadlineMs = checkDeadlineMs): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  try {
    await check(AbortSignal.timeout(deadlineMs));
    return { status: 'up', latencyMs: elapsed() };
  } catch (error) {
    return { status: 'down', latencyMs: elapsed(), error: errorKind(error) };
  }
}

export async function runChecks(checks: Record<string, Check> = dependencyChecks): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as const),
  );
  return Object.fromEntries(entries);
}

/** 200 body when every dependency is up; otherwise a 503 naming the ones that are down. */
export function healthReport(checks: Record<string, CheckResult>): { status: 'ok'; checks: Record<string, CheckResult> } {
  const down = Object.entries(checks)
    .filter(([, result]) => result.status === 'down')
    .map(([name]) => name);
  if (down.length > 0) {
    throw new DependencyUnavailableError(down, checks);
  }
  return { status: 'ok', checks };
}

/** A 503 whose problem body carries the per-dependency results. */
class DependencyUnavailableError extends ServiceUnavailableError {
  constructor(
    readonly down: string[],
    readonly checks: Record<string, CheckResult>,
  ) {
    super(`Unavailable: ${down.join(', ')}.`, 5, { extensions: { checks } });
  }
}
