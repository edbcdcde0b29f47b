import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { writeRequestOf, writeResult } from '#shared/registry/http-mapping';
import { deleteVersion } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.deleteVersion,
  idempotency: idempotency(endpoints.deleteVersion.id),
  run: async (input) => writeResult(await deleteVersion(writeRequestOf(input), input.params.version)),
});
