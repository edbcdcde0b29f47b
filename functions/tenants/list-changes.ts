import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readChanges } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.listChanges,
  run: async ({ params, query }) => ({ status: 200, body: await readChanges(params.tenant, query) }),
});
