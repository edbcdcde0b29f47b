/**
 * Jest's Node environment, holding back what a test writes straight to stdout and stderr
 * (Powertools' logger and metrics write through a `Console` of their own, past Jest's
 * console capture) and printing it only when that test, or the `beforeAll`/`afterAll` hook
 * around it, fails. A passing run stays quiet; a failure still shows every log line that
 * led to it, under a header naming the test.
 *
 * One buffer serves the file because its tests run one at a time (the suite uses no
 * `test.concurrent`). Only writes through the process's streams are held: a child process
 * writing to an inherited descriptor is not, so its noise is silenced where it starts.
 */
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

type Write = typeof process.stdout.write;
type Stream = typeof process.stdout | typeof process.stderr;

const ROOT_DESCRIBE_BLOCK = 'ROOT_DESCRIBE_BLOCK';

function fullName(entry: Circus.TestEntry | Circus.DescribeBlock | undefined): string {
  const names: string[] = [];
  for (let node = entry; node !== undefined && node.name !== ROOT_DESCRIBE_BLOCK; node = node.parent) {
    names.unshift(node.name);
  }
  return names.join(' › ');
}

export default class QuietEnvironment extends TestEnvironment {
  #held: string[] = [];
  #restore: (() => void) | undefined;

  async handleTestEvent(event: Circus.Event): Promise<void> {
    switch (event.name) {
      case 'test_start':
        this.#hold();
        break;
      case 'test_done':
        this.#release(event.test.errors.length > 0, `test "${fullName(event.test)}"`);
        break;
      case 'hook_start':
        // beforeEach/afterEach run inside a test, already held; the others run on their own.
        if (event.hook.type === 'beforeAll' || event.hook.type === 'afterAll') this.#hold();
        break;
      case 'hook_success':
      case 'hook_failure':
        if (event.hook.type === 'beforeAll' || event.hook.type === 'afterAll') {
          const where = fullName(event.describeBlock) || 'the test file';
          this.#release(event.name === 'hook_failure', `${event.hook.type} hook of ${where}`);
        }
        break;
      default:
        break;
    }
  }

  override async teardown(): Promise<void> {
    // Never leave the streams patched; anything still held belongs to a test that never
    // finished, so show it.
    this.#release(true, 'test that did not finish');
    await super.teardown();
  }

  /** Replaces the write method of both streams with one that keeps the text. */
  #hold(): void {
    if (this.#restore !== undefined) return;
    const patch = (stream: Stream): (() => void) => {
      const original = stream.write;
      const holding = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
        this.#held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        // write(chunk, callback) or write(chunk, encoding, callback): the caller may wait on it.
        const callback = rest.find((argument) => typeof argument === 'function') as
          | ((error?: Error | null) => void)
          | undefined;
        callback?.();
        return true;
      }) as Write;
      stream.write = holding;
      return () => {
        stream.write = original;
      };
    };
    const restoreOut = patch(process.stdout);
    const restoreErr = patch(process.stderr);
    this.#restore = () => {
      restoreOut();
      restoreErr();
    };
  }

  /** Puts the streams back; on failure prints what was held, else drops it. */
  #release(failed: boolean, what: string): void {
    this.#restore?.();
    this.#restore = undefined;
    const held = this.#held.join('');
    this.#held = [];
    if (failed && held.length > 0) {
      process.stderr.write(`\n── output of the failing ${what} ──\n${held}── end of that output ──\n`);
    }
  }
}
