import { endpoints } from '#shared/http/endpoints';
import { buildOpenApiDocument } from '#shared/http/openapi';
import { httpHandler } from '#shared/middleware/http-handler';

/** Built once per execution environment: the document only changes with a deploy. */
const document = buildOpenApiDocument();

export const handler = httpHandler({
  endpoint: endpoints.getOpenApi,
  run: async () => ({ status: 200, body: document, headers: { 'Cache-Control': 'public, max-age=300' } }),
});
