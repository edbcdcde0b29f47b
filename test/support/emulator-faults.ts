/**
 * The emulator's fault switches (emulator/launcher.py): AWS failing for real on the wire,
 * so the code under test meets the SDK's genuine errors and retries.
 */
export interface EmulatorFaults {
  events?: {
    /** Every EventBridge call answers 503 ServiceUnavailable. */
    unavailable?: boolean;
    /** PutEvents refuses, entry by entry, the entries whose Detail contains this text. */
    rejectDetailContaining?: string;
  };
}

/** Puts `faults` in force on the emulator at `endpoint` (`{}` clears them); returns what is in force. */
export async function setEmulatorFaults(endpoint: string, faults: EmulatorFaults): Promise<EmulatorFaults> {
  const response = await fetch(`${endpoint}/_traffic-manager/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!response.ok) throw new Error(`the emulator refused the fault switches: ${response.status} ${await response.text()}`);
  return (await response.json()) as EmulatorFaults;
}
