/**
 * Clocks. `switchClock`: a clock that costs nothing to read (the hub writes
 * `performance.now()` into it at each wait's start and end). `setTimer`/`clearTimer`/
 * `clockNow`: the seam greenio's own timers (sleep, Timeout, a wait's own timeout,
 * spawnLater, patched timers) go through, so greenio/testing can run them on a virtual
 * clock; with no host installed each costs one property read. Limit: `switchClock` lags
 * the true time by what ran since the last switch point.
 */
import { performance } from 'node:perf_hooks';
import { originalClearTimeout, originalSetTimeout } from './originals.js';

export const switchClock = { now: 0 };

/** What `setTimeout` returns; a host's handles pass for one (greenio only hands them back to `clearTimer`). */
export type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * A clock that times greenio's timers instead of Node (greenio/testing's virtual clock).
 * Each method may decline (return null / false) for a caller that is not its own: the
 * timer is then Node's.
 */
export interface TimerHost {
  /** Call `fn(...args)` after `ms` (every `ms` with `repeat`); null: leave it to Node. */
  set(fn: (...args: never[]) => unknown, ms: unknown, args: readonly unknown[], repeat: boolean): TimerHandle | null;
  /** Clear `handle` if it is one of this host's timers; false if it is not. */
  clear(handle: unknown): boolean;
  /** The time now for the current caller, on `performance.now()`'s scale; null: real time. */
  now(): number | null;
}

/** The installed host (null: Node's timers). greenio/testing swaps it. */
export const timerSeam: { host: TimerHost | null } = { host: null };

/** `setTimeout(fn, ms, arg)` for greenio's own timers, through the installed host if any. */
export function setTimer<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle {
  const host = timerSeam.host;
  if (host !== null) {
    const h = host.set(fn as (...args: never[]) => unknown, ms, [arg], false);
    if (h !== null) return h;
  }
  return originalSetTimeout(fn, ms, arg);
}

/** `clearTimeout(handle)` for a handle `setTimer` gave. */
export function clearTimer(handle: TimerHandle): void {
  const host = timerSeam.host;
  if (host !== null && host.clear(handle)) return;
  originalClearTimeout(handle);
}

/** `performance.now()`, or the installed host's time for its own callers (deadlines of timed waits). */
export function clockNow(): number {
  const host = timerSeam.host;
  if (host !== null) {
    const t = host.now();
    if (t !== null) return t;
  }
  return performance.now();
}
