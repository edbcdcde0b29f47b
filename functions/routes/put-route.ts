import { putRoute } from '#shared/domain/route-changes';
import { endpoints } from '#shared/http/endpoints';
import { writeContextOf, writeResult } from '#shared/http/route-results';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { commitChange } from '#shared/store/commit-change';

export const handler = httpHandler({
  endpoint: endpoints.putRoute,
  idempotency: idempotency(endpoints.putRoute.id),
  run: async (input) => {
    const result = await commitChange(writeContextOf(input), putRoute(input.body));
    return writeResult(result, result.created);
  },
});
