import type { Emulator } from '#local/emulator';

export default async function globalTeardown(): Promise<void> {
  const emulator = (globalThis as { __emulator__?: Emulator }).__emulator__;
  await emulator?.stop();
}
