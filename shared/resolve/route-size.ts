import type { Route } from '../domain/route.schema.ts';

/**
 * What a cached route costs in memory, roughly: two bytes per character of its JSON (the
 * parsed objects take about as much as the text), plus the entry, its key and the compiled
 * resolution plan (with its 10,000-byte bucket table when more than four versions could be
 * weighted). Computed once per load; an absence costs only the entry.
 */
export function approximateRouteBytes(route: Route | undefined, id: string): number {
  const entry = 256 + 2 * id.length;
  if (route === undefined) return entry;
  const versions = Object.keys(route.versions).length;
  const bucketTable = versions > 4 ? 10_000 : 0;
  return entry + 2 * JSON.stringify(route).length + 512 + 96 * (versions + route.rules.length) + bucketTable;
}
