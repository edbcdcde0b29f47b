import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { writeRequestOf, writeResult } from '#shared/registry/http-mapping';
import { putRoute } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.putRoute,
  idempotency: idempotency(endpoints.putRoute.id),
  run: async (input) => writeResult(await putRoute(writeRequestOf(input), input.body)),
});
