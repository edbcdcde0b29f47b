import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';
import { idempotency } from '#shared/middleware/idempotency';
import { writeRequestOf, writeResult } from '#shared/registry/http-mapping';
import { patchVersion } from '#shared/registry/route-registry';

export const handler = httpHandler({
  endpoint: endpoints.patchVersion,
  idempotency: idempotency(endpoints.patchVersion.id),
  run: async (input) => writeResult(await patchVersion(writeRequestOf(input), input.params.version, input.body)),
});
