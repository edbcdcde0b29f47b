import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readRevisions } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.listRevisions,
  run: async ({ params, query }) => ({ status: 200, body: await readRevisions(params, query) }),
});
