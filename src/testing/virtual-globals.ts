/**
 * What programs call, on the virtual clock: while a `withVirtualTime` bubble runs,
 * `timers/promises`' `setTimeout` and `setInterval`, `Date.now()`, `new Date()` and `Date()`
 * read the bubble's clock when called from one of its greenlets, and hand every other call
 * to what was there before. Installed when the bubble starts, restored exactly when it ends.
 * Limits: a function taken before the bubble (`const now = Date.now`, CJS destructuring
 * of timers/promises, Jest's copy of a builtin's named exports) stays real, and so does
 * `performance.now()` (greenio's hub and Node's libraries time themselves with it).
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as hub from '../hub/index.js';
import { State } from '../hub/index.js';
import type { TimerHandle } from '../internal/clock.js';
import type { VirtualTimers } from './virtual-timers.js';

type Fn = (...args: never[]) => unknown;
type TimersPromises = typeof import('node:timers/promises');

// Required, not imported: the CJS exports object is what the ES module facade mirrors
// (syncBuiltinESMExports() copies our replacements into `import { setTimeout } from ...`).
const timersPromises = createRequire(import.meta.url)('node:timers/promises') as TimersPromises;
const K_SLEEP = hub.kind('sleep');
const TIMEOUT_MAX = 2 ** 31 - 1;

/** Node's own rule: a delay that is not a number in [1, 2^31 - 1] ms becomes 1 ms. */
function delayOf(ms: unknown): number {
  const n = Number(ms);
  return n >= 1 && n <= TIMEOUT_MAX ? n : 1;
}

/** The rejection of an aborted timers/promises call, shaped like Node's own. */
class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(signal: AbortSignal) {
    super('The operation was aborted', { cause: signal.reason });
  }
}
Object.defineProperty(AbortError.prototype, 'name', { value: 'AbortError', configurable: true, writable: true });

interface TimerOptions {
  signal?: AbortSignal;
  ref?: boolean;
}

/** Options this module can honour; anything else goes to Node, which rejects it with its own error. */
function usable(options: unknown): options is TimerOptions | undefined {
  if (options === undefined) return true;
  if (options === null || typeof options !== 'object') return false;
  const { signal, ref } = options as TimerOptions;
  return (signal === undefined || signal instanceof AbortSignal) && (ref === undefined || typeof ref === 'boolean');
}

function virtualSetTimeout(clock: VirtualTimers, prev: Fn): Fn {
  return function setTimeout(this: unknown, delay?: unknown, value?: unknown, options?: unknown) {
    if (!clock.inBubble(hub.currentCore()) || !usable(options)) return Reflect.apply(prev, this, arguments);
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(new AbortError(signal));
    const ms = delayOf(delay);
    // A greenio wait of kind sleep: the driver sees the greenlet blocked on a timer, the
    // run-info dump shows it, and a kill or a Timeout interrupts it as it does sleep().
    return hub.waitFor<unknown>(K_SLEEP, ms, (resolve, reject) => {
      const onAbort = (): void => {
        clock.clear(handle);
        reject(new AbortError(signal!));
      };
      const handle = clock.set(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      }, ms, [], false) as TimerHandle;
      signal?.addEventListener('abort', onAbort, { once: true });
      return () => {
        clock.clear(handle);
        signal?.removeEventListener('abort', onAbort);
      };
    });
  };
}

type Waiter = { resolve: () => void; reject: (e: unknown) => void };

/** `for await (const v of setInterval(ms, v))` on the virtual clock: ticks not yet taken are counted, as Node does. */
class VirtualInterval implements AsyncIterableIterator<unknown> {
  #ticks = 0;
  #done = false;
  readonly #waiters: Waiter[] = [];
  readonly #handle: TimerHandle;
  readonly #onAbort = (): void => this.#stop(new AbortError(this.signal!));

  constructor(
    readonly clock: VirtualTimers,
    readonly ms: number,
    readonly value: unknown,
    readonly signal: AbortSignal | undefined,
  ) {
    const owner = hub.currentCore();
    this.#handle = clock.set(() => {
      // An iterator whose greenlet died without return() (killed in next()) must not
      // keep the virtual clock ticking: it would hide a deadlock until maxTime.
      if (owner.state === State.Dead && this.#waiters.length === 0) return this.#stop(null);
      this.#ticks++;
      this.#waiters.shift()?.resolve();
    }, ms, [], true) as TimerHandle;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #stop(error: Error | null): void {
    this.#done = true;
    this.clock.clear(this.#handle);
    this.signal?.removeEventListener('abort', this.#onAbort);
    for (const w of this.#waiters.splice(0)) {
      if (error === null) w.resolve();
      else w.reject(error);
    }
  }

  async next(): Promise<IteratorResult<unknown>> {
    if (this.signal?.aborted === true) {
      this.#stop(null);
      throw new AbortError(this.signal);
    }
    if (this.#ticks === 0 && !this.#done) {
      await hub.waitFor<void>(K_SLEEP, this.ms, (resolve, reject) => {
        const w: Waiter = { resolve, reject };
        this.#waiters.push(w);
        return () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
        };
      });
    }
    if (this.#ticks === 0) return { value: undefined, done: true };
    this.#ticks--;
    return { value: this.value, done: false };
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.#stop(null);
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function virtualSetInterval(clock: VirtualTimers, prev: Fn): Fn {
  return function setInterval(this: unknown, delay?: unknown, value?: unknown, options?: unknown) {
    if (!clock.inBubble(hub.currentCore()) || !usable(options)) return Reflect.apply(prev, this, arguments);
    return new VirtualInterval(clock, delayOf(delay), value, options?.signal);
  };
}

interface Saved {
  obj: object;
  key: PropertyKey;
  was: PropertyDescriptor;
  ours: unknown;
}

/**
 * Put the virtual versions in place for `clock`'s bubble; returns the restore. The
 * restore puts back each property's exact descriptor, unless something replaced ours
 * meanwhile (an unpatch during the bubble): that newer value is left alone.
 */
export function installVirtualGlobals(clock: VirtualTimers): () => void {
  const saved: Saved[] = [];
  const replace = (obj: object, key: PropertyKey, ours: unknown): void => {
    const was = Object.getOwnPropertyDescriptor(obj, key);
    if (was === undefined) return;
    Object.defineProperty(obj, key, { ...was, value: ours });
    saved.push({ obj, key, was, ours });
  };
  const restore = (): void => {
    for (const s of saved.reverse()) {
      if (Object.getOwnPropertyDescriptor(s.obj, s.key)?.value === s.ours) Object.defineProperty(s.obj, s.key, s.was);
    }
    saved.length = 0;
    syncBuiltinESMExports();
  };
  try {
    replaceAll(clock, replace);
  } catch (e) {
    restore();
    throw e;
  }
  syncBuiltinESMExports();
  return restore;
}

function replaceAll(clock: VirtualTimers, replace: (obj: object, key: PropertyKey, ours: unknown) => void): void {
  replace(timersPromises, 'setTimeout', virtualSetTimeout(clock, timersPromises.setTimeout as Fn));
  replace(timersPromises, 'setInterval', virtualSetInterval(clock, timersPromises.setInterval as Fn));

  const RealDate = globalThis.Date;
  const prevNow = RealDate.now;
  // The wall-clock date the bubble started at: virtual dates count from it, in whole ms.
  const start = prevNow.call(RealDate);
  const virtualNow = (): number | null => (clock.inBubble(hub.currentCore()) ? Math.floor(start + clock.elapsed) : null);
  replace(RealDate, 'now', {
    now(this: unknown): number {
      return virtualNow() ?? (Reflect.apply(prevNow, this, []) as number);
    },
  }.now);
  // `new Date()` and `Date()` with no argument are the only other readings of the clock.
  // A proxy keeps `Date.prototype`, `instanceof Date`, `Date.UTC`, `Date.parse` and subclassing.
  replace(globalThis, 'Date', new Proxy(RealDate, {
    construct(target, args, newTarget) {
      const v = args.length === 0 ? virtualNow() : null;
      return Reflect.construct(target, v === null ? args : [v], newTarget) as object;
    },
    apply(target, self, args) {
      const v = virtualNow();
      return v === null ? Reflect.apply(target, self, args) : new target(v).toString();
    },
  }));
}
