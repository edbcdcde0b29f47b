/** Response header names of our own, with no module side effects, for the code and the stack alike. */

/** Set on a replayed idempotent response, so a caller can tell it from a fresh one. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
