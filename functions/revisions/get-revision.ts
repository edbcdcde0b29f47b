import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { readRevision } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.getRevision,
  run: async ({ params: { revision, ...key } }) => ({ status: 200, body: await readRevision(key, revision) }),
});
