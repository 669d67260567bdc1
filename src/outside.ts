/**
 * `outside(fn, ...args)`: run `fn` in the main greenlet, outside the caller's greenlet, so
 * that what it starts (a library's background flusher, a connection it opens lazily, a
 * timer) belongs to no greenlet: no kill or Timeout of the caller reaches it. The caller's
 * await of `fn`'s promise is a wait of its own (`outside <fn>` in run-info), which a kill
 * or Timeout ends at once, leaving the work running. Limits: work already started in a
 * greenlet cannot be moved out of it afterwards, and a Timeout started in main still
 * interrupts main's waits, these included.
 */
import * as hub from './hub/index.js';
import { checkFunction } from './internal/validate.js';

const K_OUTSIDE = hub.kind('outside');

/**
 * Call `fn(...args)` outside any greenlet (in main) and return what it returns; a promise
 * is returned as a wait of the caller, which a kill or Timeout of the caller interrupts
 * without stopping `fn`'s work.
 * @example
 * import { outside, spawn } from 'greenio';
 * // A lazily started flusher would belong to whichever greenlet logged first:
 * // start it outside, and no greenlet's kill stops it.
 * const logger = outside(() => makeLogger({ flushEvery: 10 }));
 * spawn(() => logger.info('hello'));
 */
export function outside<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
  checkFunction('fn', fn);
  const result = hub.outside(fn, ...args);
  if (!(result instanceof Promise)) return result;
  const work = result as Promise<unknown>;
  return hub.waitFor<unknown>(K_OUTSIDE, fn.name || 'anonymous', (resolve, reject) => void work.then(resolve, reject)) as R;
}
