import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { routeResult } from '#shared/http/route-results';
import { readRoute } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.getRoute,
  run: async ({ params }) => routeResult(await readRoute(params)),
});
