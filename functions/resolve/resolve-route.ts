import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { resolveRoute } from '#shared/resolve/resolve-route';

export const handler = httpHandler({
  endpoint: endpoints.resolveRoute,
  run: async ({ params, query, headers }) => {
    const { resolution, headers: cacheHeaders } = await resolveRoute({ route: params, key: query.key, version: query.version, headers });
    return { status: 200, body: resolution, headers: { 'Cache-Control': 'no-store', ...cacheHeaders } };
  },
});
