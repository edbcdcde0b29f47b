import { endpoints } from '#shared/http/endpoints';
import { writeContextOf, writeResult } from '#shared/http/route-results';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { rollbackRoute } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.rollbackRoute,
  idempotency: idempotency(endpoints.rollbackRoute.id),
  run: async (input) => writeResult(await rollbackRoute(writeContextOf(input), input.body.revision)),
});
