import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { resolveRoute } from '#shared/resolve/resolve-route';

export const handler = httpHandler({
  endpoint: endpoints.resolveRoute,
  run: async ({ params, query, headers }) => ({
    status: 200,
    body: await resolveRoute({ route: params, key: query.key, version: query.version, headers }),
    headers: { 'Cache-Control': 'no-store' },
  }),
});
