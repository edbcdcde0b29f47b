import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { writeRequestOf, writeResult } from '#shared/registry/http-mapping';
import { deleteRoute } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.deleteRoute,
  idempotency: idempotency(endpoints.deleteRoute.id),
  run: async (input) => writeResult(await deleteRoute(writeRequestOf(input))),
});
