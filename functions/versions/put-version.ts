import { addsVersion, putVersion } from '#shared/domain/route-changes';
import { endpoints } from '#shared/http/endpoints';
import { writeContextOf, writeResult } from '#shared/http/route-results';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { commitChange } from '#shared/store/commit-change';

export const handler = httpHandler({
  endpoint: endpoints.putVersion,
  idempotency: idempotency(endpoints.putVersion.id),
  run: async (input) => {
    const { version } = input.params;
    const result = await commitChange(writeContextOf(input), putVersion(version, input.body));
    return writeResult(result, addsVersion(result.previous, version));
  },
});
