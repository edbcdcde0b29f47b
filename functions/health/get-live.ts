import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';

export const handler = httpHandler({
  endpoint: endpoints.getLive,
  run: async () => ({ status: 200, body: { status: 'ok' } }),
});
