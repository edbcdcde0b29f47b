import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readRevisions } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.listRevisions,
  run: async ({ params, query }) => ({ status: 200, body: await readRevisions(params, query) }),
});
