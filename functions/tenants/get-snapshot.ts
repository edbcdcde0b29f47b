import { endpoints } from '#shared/http/endpoints';
import { etagMatches } from '#shared/http/preconditions';
import { httpHandler } from '#shared/middleware/http-handler';
import { readSnapshot } from '#shared/use-cases/routes';

export const handler = httpHandler({
  endpoint: endpoints.getSnapshot,
  run: async ({ params, headers }) => {
    const answer = await readSnapshot(params.tenant, (etag) => etagMatches(headers['if-none-match'], etag));
    const cache = { ETag: answer.etag, 'Cache-Control': 'no-cache' };
    if (answer.notModified) return { status: 304, headers: cache };
    const { routes, seq } = answer.snapshot;
    return { status: 200, body: { tenant: params.tenant, seq, routes }, headers: cache };
  },
});
