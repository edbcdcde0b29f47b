import { deleteRoute } from '#shared/domain/route-changes';
import { endpoints } from '#shared/http/endpoints';
import { writeContextOf, writeResult } from '#shared/http/route-results';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { commitChange } from '#shared/store/commit-change';

export const handler = httpHandler({
  endpoint: endpoints.deleteRoute,
  idempotency: idempotency(endpoints.deleteRoute.id),
  run: async (input) => writeResult(await commitChange(writeContextOf(input), deleteRoute())),
});
