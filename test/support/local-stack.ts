/**
 * The local API in-process, on the test run's emulator: the same server `npm start` runs
 * (local/server.ts), on a free port. For e2e tests that speak real HTTP to the API.
 */
import { startLocalServer, type LocalServer, type LocalServerOptions } from '#local/server';

export async function startTestApi(options: LocalServerOptions = {}): Promise<LocalServer> {
  return startLocalServer({ port: 0, ...options });
}
