/**
 * The published conformance vectors (./vectors.json): hand-chosen routes, requests and the
 * decision API.md prescribes for each, computed by ./reference-resolve.ts (a reading of
 * API.md written apart from the engine). The server's HTTP tests
 * (test/e2e/conformance.test.ts) and the client's tests (test/unit/client/conformance.test.ts)
 * both check every vector; any other data-plane implementation can too.
 *
 * Regenerate with `npx tsx client/conformance/generate-vectors.ts`; a unit test fails when
 * the committed file differs from what the script produces.
 */
import { readFileSync } from 'node:fs';
import type { ResolveReason } from '../../shared/domain/resolve.ts';
import type { Route } from '../../shared/domain/route.schema.ts';

export interface ConformanceRequest {
  /** `?key=` */
  key?: string;
  /** `?version=` */
  version?: string;
  /** Request headers as sent (names in any case, one value each, ASCII so they survive HTTP). */
  headers: Record<string, string>;
}

export type ConformanceExpectation =
  /** One exact answer. */
  | { status: 200; version: string; url: string; revision: number; reason: ResolveReason }
  /**
   * A keyless weighted choice is random by weight: any of `oneOf` (the weighted candidates)
   * is right, with reason `weighted`.
   */
  | { status: 200; reason: 'weighted'; revision: number; oneOf: string[] }
  /** A problem with this status. */
  | { status: 400 | 404 | 503 };

export interface ConformanceVector {
  name: string;
  /** `tenant/service/env`: a key of `routes`, or of no route (then the answer is 404). */
  route: string;
  request: ConformanceRequest;
  expected: ConformanceExpectation;
}

export interface ConformanceFile {
  description: string;
  /** The route documents by `tenant/service/env`, as a snapshot or `GET .../routes/...` gives them. */
  routes: Record<string, Route>;
  vectors: ConformanceVector[];
}

export const vectorsUrl = new URL('./vectors.json', import.meta.url);

export const routeKeyOf = (route: Pick<Route, 'tenant' | 'service' | 'env'>): string =>
  `${route.tenant}/${route.service}/${route.env}`;

/** Splits `tenant/service/env`. */
export function partsOf(routeKey: string): { tenant: string; service: string; env: string } {
  const [tenant, service, env, ...rest] = routeKey.split('/');
  if (tenant === undefined || service === undefined || env === undefined || rest.length > 0) {
    throw new Error(`not a route key: ${routeKey}`);
  }
  return { tenant, service, env };
}

/** Reads the committed vectors; a file without routes or vectors is refused. */
export function loadVectors(): ConformanceFile {
  const file = JSON.parse(readFileSync(vectorsUrl, 'utf8')) as Partial<ConformanceFile>;
  if (typeof file.routes !== 'object' || !Array.isArray(file.vectors)) throw new Error(`${vectorsUrl.pathname} is not a vectors file`);
  return file as ConformanceFile;
}
