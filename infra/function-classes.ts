/**
 * Function classes: the bulkheads (ARCHITECTURE.md, "bulkheads"). Each class gets its own
 * memory, timeout and reserved concurrency from the stage settings, so that a burst of
 * writes or a slow publisher cannot take the concurrency the resolve path needs.
 */
import type { EndpointDefinition } from '../shared/http/endpoints.ts';

export const functionClasses = ['resolve', 'read', 'write', 'health', 'publisher'] as const;
export type FunctionClass = (typeof functionClasses)[number];

/**
 * The class of an endpoint's function: public endpoints (health, the OpenAPI document) are
 * `health`; anything that writes the table is `write`; what a data plane calls on its hot
 * path (resolve, snapshot: the `resolve` scope) is `resolve`; the other reads are `read`.
 */
export function functionClassOf(endpoint: Pick<EndpointDefinition, 'scopes' | 'access'>): Exclude<FunctionClass, 'publisher'> {
  if (endpoint.scopes === null) return 'health';
  if (endpoint.access.table === 'readWrite') return 'write';
  if (endpoint.scopes.includes('resolve')) return 'resolve';
  return 'read';
}
