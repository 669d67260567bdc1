/**
 * A dump of every greenlet when a test hangs (Kotlin's `CoroutinesTimeout`):
 * `withTestTimeout(ms, fn)` fails after `ms` of real time with the run-info dump in its
 * error; `installTimeoutDump(hooks, { ms })` prints the dump when a test is still running
 * after `ms`, so set it below the runner's own timeout. Limits: real time, not virtual;
 * `fn` cannot be stopped (the leak check kills what it left running).
 */
import * as hub from '../hub/index.js';
import { formatRunInfo, type TextSink } from '../instrument/run-info.js';
import { originalClearTimeout, originalSetTimeout } from '../internal/originals.js';
import { checkFunction, checkOptions, expected } from '../internal/validate.js';
import { GreenioError, named } from '../errors.js';
import type { TestHooks } from './leaks.js';

/**
 * A test that ran past its `withTestTimeout`; the message ends with the run-info dump.
 * @example
 * import { TestTimeoutError } from 'greenio/testing';
 * console.log(new TestTimeoutError(5000, '').code); // 'GREENIO_TEST_TIMEOUT'
 */
export class TestTimeoutError extends GreenioError {
  /** `formatRunInfo()` when the time ran out. */
  readonly runInfo: string;
  readonly ms: number;
  constructor(ms: number, runInfo: string) {
    super(`the test timed out after ${ms} ms; every greenlet then:\n${runInfo}`, 'GREENIO_TEST_TIMEOUT');
    this.ms = ms;
    this.runInfo = runInfo;
  }
}
named(TestTimeoutError, 'TestTimeoutError');

function checkPositiveMs(name: string, ms: unknown): number {
  if (typeof ms !== 'number') throw new TypeError(expected(name, 'a number of milliseconds > 0', ms));
  if (!(ms > 0) || ms === Infinity) throw new RangeError(expected(name, 'a finite number of milliseconds > 0', ms));
  return ms;
}

function checkSink(sink: unknown): TextSink {
  if (sink === null || typeof sink !== 'object' || typeof (sink as TextSink).write !== 'function') {
    throw new TypeError(expected('options.sink', 'an object with a write() method', sink));
  }
  return sink as TextSink;
}

// Outside any greenlet, so the dump shows the program as it was, not this timer.
const dump = (): string => hub.outside(() => formatRunInfo());

/**
 * Run `fn`; if it has not settled after `ms` milliseconds of real time, reject with a
 * `TestTimeoutError` whose message holds every greenlet, what it waits on and where it
 * was spawned. `fn` itself goes on running (nothing can stop an `await`).
 * @example
 * import { sleep } from 'greenio';
 * import { withTestTimeout } from 'greenio/testing';
 * await withTestTimeout(5000, async () => {
 *   await sleep(10);
 * });
 */
export function withTestTimeout<T>(ms: number, fn: () => T | Promise<T>): Promise<T> {
  checkPositiveMs('ms', ms);
  checkFunction('fn', fn);
  return new Promise<T>((resolve, reject) => {
    const timer = originalSetTimeout(() => reject(new TestTimeoutError(ms, dump())), ms);
    const settle = (ok: boolean, v: unknown): void => {
      originalClearTimeout(timer);
      if (ok) resolve(v as T);
      else reject(v);
    };
    try {
      Promise.resolve(fn()).then(
        (v) => settle(true, v),
        (e: unknown) => settle(false, e),
      );
    } catch (e) {
      settle(false, e);
    }
  });
}

/** Options of `installTimeoutDump()`. */
export interface TimeoutDumpOptions {
  /** Print the dump when a test still runs after this many ms (set it below the runner's timeout). */
  ms: number;
  /** Where to print (default `process.stderr`). */
  sink?: TextSink;
}

/**
 * Print the run-info dump of every greenlet when a test of the file still runs after
 * `ms`: armed in `beforeEach`, disarmed in `afterEach` (Vitest, Jest, `node:test`).
 * @example
 * import { beforeEach, afterEach } from 'node:test';
 * import { installTimeoutDump } from 'greenio/testing';
 * installTimeoutDump({ beforeEach, afterEach }, { ms: 4000 });
 */
export function installTimeoutDump(hooks: TestHooks, options: TimeoutDumpOptions): void {
  if (hooks === null || typeof hooks !== 'object' || typeof hooks.beforeEach !== 'function' || typeof hooks.afterEach !== 'function') {
    throw new TypeError(expected('hooks', 'an object with beforeEach and afterEach functions', hooks));
  }
  const o = checkOptions('options', options);
  const ms = checkPositiveMs('options.ms', o.ms);
  const sink = o.sink === undefined ? process.stderr : checkSink(o.sink);
  let timer: ReturnType<typeof setTimeout> | null = null;
  hooks.beforeEach(() => {
    if (timer !== null) originalClearTimeout(timer);
    timer = originalSetTimeout(() => {
      timer = null;
      sink.write(`greenio: the test still runs after ${ms} ms; every greenlet now:\n${dump()}`);
    }, ms);
    // It must not keep a finished run alive.
    timer.unref();
  });
  hooks.afterEach(() => {
    if (timer !== null) originalClearTimeout(timer);
    timer = null;
  });
}
