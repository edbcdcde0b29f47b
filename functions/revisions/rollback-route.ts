import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { writeRequestOf, writeResult } from '#shared/registry/http-mapping';
import { rollbackRoute } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.rollbackRoute,
  idempotency: idempotency(endpoints.rollbackRoute.id),
  run: async (input) => writeResult(await rollbackRoute(writeRequestOf(input), input.body.revision)),
});
