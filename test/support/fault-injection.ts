/**
 * Fault injection through the SDK's own middleware stack: a failure is raised where the
 * HTTP response would be deserialised, inside the retry middleware, so the code under test
 * runs the real SDK retry strategy (and its retry quota) and then its own handling.
 * Nothing here replaces the emulator: calls that are not failed go through to it.
 */
import { DynamoDBServiceException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The clients faults can be injected into (the document client shares its base client's stack). */
export type InjectableClient = DynamoDBClient | DynamoDBDocumentClient;

export interface FaultOptions {
  /** The SDK command to fail, by its class name: `TransactWriteItemsCommand`, `GetItemCommand`. */
  command: string;
  /** How many matching calls (attempts, retries included) fail; then calls go through. */
  times: number;
  /** A fresh error per failed attempt (SDK exceptions carry per-attempt metadata). */
  error: () => Error;
}

export interface InjectedFault {
  /** Matching attempts seen so far, failed or not. */
  readonly attempts: number;
  /** Attempts that were failed. */
  readonly failed: number;
  /** Takes the fault out of the client's middleware stack. */
  remove: () => void;
}

let sequence = 0;

type AddMiddleware = (
  middleware: (
    next: (args: unknown) => Promise<unknown>,
    context: { commandName?: string },
  ) => (args: unknown) => Promise<unknown>,
  options: { step: 'deserialize'; priority: 'low'; name: string },
) => void;

interface StackLike {
  add: AddMiddleware;
  remove: (name: string) => boolean;
}

/** Makes the next `times` attempts of `command` on `client` fail with `error()`. */
export function injectFault(client: InjectableClient, options: FaultOptions): InjectedFault {
  sequence += 1;
  const name = `testFault${sequence}`;
  const state = { attempts: 0, failed: 0 };
  const stack = client.middlewareStack as unknown as StackLike;
  stack.add(
    (next, context) => async (args) => {
      if (context.commandName !== options.command) return next(args);
      state.attempts += 1;
      if (state.failed < options.times) {
        state.failed += 1;
        throw options.error();
      }
      return next(args);
    },
    // Deserialize step, lowest priority: below the retry middleware, next to the wire.
    { step: 'deserialize', priority: 'low', name },
  );
  return {
    get attempts() {
      return state.attempts;
    },
    get failed() {
      return state.failed;
    },
    remove: () => {
      stack.remove(name);
    },
  };
}

/**
 * Runs `act` with the fault in place and always takes it out again; returns what `act`
 * returned and the fault (for its attempt counts).
 */
export async function withFault<T>(
  client: InjectableClient,
  options: FaultOptions,
  act: () => Promise<T>,
): Promise<{ result: T; fault: InjectedFault }> {
  const fault = injectFault(client, options);
  try {
    return { result: await act(), fault };
  } finally {
    fault.remove();
  }
}

/** DynamoDB's 500, as the SDK raises it: the service failed the request. */
export function internalServerError(): Error {
  return new DynamoDBServiceException({
    name: 'InternalServerError',
    $fault: 'server',
    message: 'Internal server error',
    $metadata: { httpStatusCode: 500 },
  });
}
