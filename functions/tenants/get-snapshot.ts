import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readSnapshot } from '#shared/registry/route-registry';
import { etagMatches } from '#shared/registry/preconditions';

export const handler = httpHandler({
  endpoint: endpoints.getSnapshot,
  run: async ({ params, headers }) => {
    const { routes, etag } = await readSnapshot(params.tenant);
    const cache = { ETag: etag, 'Cache-Control': 'no-cache' };
    if (etagMatches(headers['if-none-match'], etag)) return { status: 304, headers: cache };
    return { status: 200, body: { tenant: params.tenant, routes }, headers: cache };
  },
});
