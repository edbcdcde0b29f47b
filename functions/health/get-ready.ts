import { healthReport, runChecks } from '#shared/health/health-checks';
import { endpoints } from '#shared/http/endpoints';
import { httpHandler } from '#shared/middleware/http-handler';

export const handler = httpHandler({
  endpoint: endpoints.getReady,
  run: async () => {
    healthReport(await runChecks());
    return { status: 200, body: { status: 'ok' } };
  },
});
