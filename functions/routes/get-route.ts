import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { routeResult } from '#shared/registry/http-mapping';
import { readRoute } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.getRoute,
  run: async ({ params }) => routeResult(await readRoute(params)),
});
