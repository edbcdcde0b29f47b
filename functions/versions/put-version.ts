import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { writeRequestOf, writeResult } from '#shared/registry/http-mapping';
import { putVersion } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.putVersion,
  idempotency: idempotency(endpoints.putVersion.id),
  run: async (input) => writeResult(await putVersion(writeRequestOf(input), input.params.version, input.body)),
});
