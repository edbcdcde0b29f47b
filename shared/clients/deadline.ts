/**
 * The invocation deadline every AWS call obeys: the handler factory runs each invocation
 * `runWithin` its deadline, and each client's `send` is wrapped by `obeyingDeadline` to carry
 * it as the SDK's abort signal. Apart from the client settings (./aws-client-config.ts), so
 * that a function that makes no AWS call (liveness, the OpenAPI document) does not load the
 * HTTPS agent and TLS at cold start.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The deadline (epoch ms) of the invocation running in this async context, if any. */
const invocationDeadline = new AsyncLocalStorage<number>();

/** Runs `work` with every AWS call inside it abandoned at `deadline` (epoch milliseconds). */
export function runWithin<T>(deadline: number, work: () => Promise<T>): Promise<T> {
  return invocationDeadline.run(deadline, work);
}

/** A signal that aborts at the current invocation's deadline; undefined outside one. */
function deadlineSignal(): AbortSignal | undefined {
  const deadline = invocationDeadline.getStore();
  return deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, deadline - Date.now()));
}

interface Sends {
  send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/**
 * Makes every `send` of `client` carry the invocation's deadline as its abort signal (unless
 * the caller gave one). The SDK reads the signal only from `send`'s options, so this is the
 * one place it can be added for every call.
 */
export function obeyingDeadline<C extends Sends>(client: C): C {
  const send = client.send.bind(client) as (command: never, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
  client.send = ((command: never, options?: { abortSignal?: AbortSignal }) => {
    const abortSignal = options?.abortSignal ?? deadlineSignal();
    return send(command, abortSignal === undefined ? options : { ...options, abortSignal });
  }) as C['send'];
  return client;
}
