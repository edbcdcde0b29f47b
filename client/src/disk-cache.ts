/**
 * The last good state on disk (`cachePath`), so that a data plane restarted while the
 * service is unreachable still starts and answers. Written after every change (and to
 * refresh `confirmedAt` now and then), atomically: a temporary file in the same directory,
 * then a rename, so a crash mid-write leaves the previous file whole.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Route } from '../../shared/domain/route.schema.ts';
import { InvalidSnapshotError, parseRoute, stateOf, type TenantState } from './tenant-state.ts';

/** Names the file's layout, so a future layout is refused instead of misread. */
export const cacheFormat = 'traffic-manager-client-cache/1';

export interface CachedState {
  state: TenantState;
  /** Wall-clock milliseconds when the server last confirmed this state. */
  confirmedAt: number;
}

interface CacheFile {
  format: typeof cacheFormat;
  baseUrl: string;
  tenant: string;
  etag: string | null;
  seq: number | null;
  confirmedAt: string;
  routes: Route[];
}

export async function writeCache(file: string, baseUrl: string, cached: CachedState): Promise<void> {
  const { state } = cached;
  const content: CacheFile = {
    format: cacheFormat,
    baseUrl,
    tenant: state.tenant,
    etag: state.etag ?? null,
    seq: state.seq ?? null,
    confirmedAt: new Date(cached.confirmedAt).toISOString(),
    routes: [...state.routes.values()],
  };
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(content), { mode: 0o600 });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The cached state, or undefined when there is no file. A file for another service or
 * tenant, or one that fails the snapshot checks, is an error: the caller reports it and
 * starts without it.
 */
export async function readCache(file: string, baseUrl: string, tenant: string): Promise<CachedState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
  const content: unknown = JSON.parse(text);
  if (typeof content !== 'object' || content === null) throw new InvalidSnapshotError(file, 'is not a cache file');
  const fields = content as Partial<Record<keyof CacheFile, unknown>>;
  if (fields.format !== cacheFormat) throw new InvalidSnapshotError(`${file}: format`, `must be ${cacheFormat}`);
  if (fields.baseUrl !== baseUrl || fields.tenant !== tenant) {
    throw new InvalidSnapshotError(file, `holds ${String(fields.tenant)} at ${String(fields.baseUrl)}, not ${tenant} at ${baseUrl}`);
  }
  const confirmedAt = typeof fields.confirmedAt === 'string' ? Date.parse(fields.confirmedAt) : Number.NaN;
  if (Number.isNaN(confirmedAt)) throw new InvalidSnapshotError(`${file}: confirmedAt`, 'must be a date');
  if (!Array.isArray(fields.routes)) throw new InvalidSnapshotError(`${file}: routes`, 'must be an array');
  const routes = fields.routes.map((route, index) => parseRoute(route, `${file}: routes[${index}]`));
  const etag = typeof fields.etag === 'string' ? fields.etag : undefined;
  const seq = typeof fields.seq === 'number' && Number.isInteger(fields.seq) ? fields.seq : undefined;
  return { state: stateOf(tenant, routes, etag, seq), confirmedAt };
}
