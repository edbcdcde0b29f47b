import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readAudit } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.listAudit,
  run: async ({ params, query }) => ({ status: 200, body: await readAudit(params.tenant, query) }),
});
