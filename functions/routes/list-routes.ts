import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readRoutes } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.listRoutes,
  run: async ({ params, query }) => ({ status: 200, body: await readRoutes(params.tenant, query) }),
});
