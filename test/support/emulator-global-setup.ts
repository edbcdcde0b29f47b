/**
 * Starts one emulator for a Jest run and provisions the stack in it. Workers read its
 * endpoint from the environment, which they inherit (test/support/emulator-env.ts).
 */
import { startEmulator } from '#local/emulator';
import { localFunctionEnvironment } from '#local/environment';
import { provision } from '#local/provision';
import { localNames } from '#infra/resources';

export default async function globalSetup(): Promise<void> {
  if (process.env.TM_TEST_EMULATOR_ENDPOINT !== undefined) return;
  const emulator = await startEmulator();
  (globalThis as { __emulator__?: typeof emulator }).__emulator__ = emulator;
  await provision({ endpoint: emulator.endpoint, ...localNames });
  process.env.TM_TEST_EMULATOR_ENDPOINT = emulator.endpoint;
  process.env.TM_TEST_EMULATOR_PID = String(emulator.pid);
  Object.assign(process.env, localFunctionEnvironment(emulator.endpoint));
}
