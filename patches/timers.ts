/**
 * The timers patch: global `setTimeout`/`setInterval`/`setImmediate` and their `clear*`,
 * the same functions of `node:timers` (separate slots), and `node:timers/promises`.
 * A callback timer belongs to the flow that set it: a kill clears it (its callback is
 * never called), a Timeout leaves it alone (clearing it could only strand whatever
 * waits on it). The promise forms are waits: kill and Timeout abort them natively.
 * Limits: an `unref()`ed timer is left to its library (it is infrastructure: keep-alive,
 * fast-timer wheels) when its greenlet is killed; `clearTimeout(numericId)` is not seen.
 * A client integration's own timer (pg-pool's idle timer, `timerPass`) is no op at all.
 */
import * as hub from '../src/hub/index.js';
import type { AnyOp, OpHandler } from '../src/hub/index.js';
import { kOp } from '../src/internal/symbols.js';
import { timerSeam } from '../src/internal/clock.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { optionsWithSignal, promiseWrapper } from './conventions.js';
import { definePatch, patchFn, requireBuiltin } from './patch.js';

const NAME = 'timers';
const K_TIMER = hub.kind('timer', { killOnly: true });
const K_INTERVAL = hub.kind('interval', { killOnly: true });
const K_IMMEDIATE = hub.kind('immediate', { killOnly: true });
const K_SLEEP = hub.kind('sleep');

type Clear = (handle: unknown) => void;

/** No timer is waiting to pass (a value no delay argument can be). */
const NO_PASS: unique symbol = Symbol('greenio.noTimerPass');

/**
 * A client integration's own timer, set by the client's machinery (pg-pool's idle timer,
 * set at each release and cleared at the next acquire): while `delay` holds that timer's
 * delay, the next `setTimeout(cb, delay)` is passed to the original as it is, as a socket
 * marked kClientWrites passes its writes (patches/net.ts). It is no op of anyone: a kill
 * of the greenlet that released the client cannot clear the pool's timer, and a query
 * pays no op for it. The integration sets `delay` around the one call and resets it to
 * `timerPass.none` after; a setTimeout with another delay meanwhile stays an op. The
 * integration sets it only when the client will set that timer first (else a callback's
 * timer of the same delay, set synchronously inside the call, would pass instead).
 */
export const timerPass: { delay: unknown; readonly none: typeof NO_PASS } = { delay: NO_PASS, none: NO_PASS };
type Handle = { hasRef?: () => boolean } | null;

/** The handler of one slot's timers (`op.data` is the handle): a kill clears it with that slot's original. */
function timerHandler(clear: Clear): OpHandler<unknown> {
  return {
    cancel(op) {
      const handle = op.data as Handle;
      // An unref'd timer is infrastructure (a library's keep-alive or timer wheel): left running.
      if (handle !== null && handle.hasRef?.() !== false && timerSeam.host?.clear(handle) !== true) clear(handle);
      return false;
    },
  };
}

// Per timer, only the op and the closure that ends it when it fires: no state object and,
// for the usual (callback, delay) call, no copy of the arguments. A library's idle timer,
// set and cleared once per request (pg-pool's), pays for little more than that.
function setterWrapper(kind: hub.Kind, repeat: boolean, clear: Clear): (o: AnyFunction) => AnyFunction {
  const handler = timerHandler(clear);
  const immediate = kind === K_IMMEDIATE;
  const passable = kind === K_TIMER;
  return (original) =>
    ({ wrapper(this: unknown, cb: unknown, delay: unknown) {
      if (typeof cb !== 'function') return Reflect.apply(original, this, arguments);
      if (delay === timerPass.delay && passable && arguments.length === 2 && timerSeam.host === null) {
        timerPass.delay = NO_PASS; // one timer only
        return original.call(this, cb, delay);
      }
      const op = hub.track(kind, immediate ? 0 : delay, handler, null);
      const fire = repeat
        ? cb
        : function (this: unknown) {
            op.end();
            return Reflect.apply(cb as AnyFunction, this, arguments);
          };
      // greenio/testing's virtual clock times the timers of its greenlets (immediates are not time).
      const host = immediate ? null : timerSeam.host;
      let handle: Handle;
      if (host === null && arguments.length <= (immediate ? 1 : 2)) {
        handle = (immediate ? original.call(this, fire) : original.call(this, fire, delay)) as Handle;
      } else {
        const args = Array.prototype.slice.call(arguments) as unknown[];
        args[0] = fire;
        handle = ((host === null ? null : host.set(fire as AnyFunction, delay, args.slice(2), repeat)) ?? Reflect.apply(original, this, args)) as Handle;
      }
      op.data = handle;
      if (handle !== null && typeof handle === 'object') (handle as Record<symbol, unknown>)[kOp] = op;
      return handle;
    } }).wrapper;
}

function clearWrapper(): (o: AnyFunction) => AnyFunction {
  return (original) =>
    ({ wrapper(this: unknown, handle: unknown) {
      if (handle !== null && typeof handle === 'object') {
        const op = (handle as Record<symbol, AnyOp | undefined>)[kOp];
        if (op !== undefined) op.end();
        const host = timerSeam.host;
        if (host !== null && host.clear(handle)) return undefined;
      }
      return Reflect.apply(original, this, arguments);
    } }).wrapper;
}

export const timersPatch = definePatch({
  name: NAME, option: 'timers', module: 'timers', aliases: ['timers', 'timers/promises'],
  implements: {
    global: ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'],
    callback: ['timers.setTimeout', 'timers.setInterval', 'timers.setImmediate', 'timers.clearTimeout', 'timers.clearInterval', 'timers.clearImmediate'],
    promise: ['promises.setTimeout', 'promises.setImmediate'],
  },
  patch(exports) {
    const timers = exports as typeof import('node:timers');
    const tp = requireBuiltin('node:timers/promises') as typeof import('node:timers/promises');
    for (const [obj, mod] of [[globalThis, 'global'], [timers, 'timers']] as const) {
      // Each slot clears with its own original, captured before wrapping.
      const ct = obj.clearTimeout as Clear;
      const ci = obj.clearInterval as Clear;
      const cim = obj.clearImmediate as Clear;
      patchFn(NAME, mod, 'setTimeout', obj, 'setTimeout', setterWrapper(K_TIMER, false, ct));
      patchFn(NAME, mod, 'setInterval', obj, 'setInterval', setterWrapper(K_INTERVAL, true, ci));
      patchFn(NAME, mod, 'setImmediate', obj, 'setImmediate', setterWrapper(K_IMMEDIATE, false, cim));
      patchFn(NAME, mod, 'clearTimeout', obj, 'clearTimeout', clearWrapper());
      patchFn(NAME, mod, 'clearInterval', obj, 'clearInterval', clearWrapper());
      patchFn(NAME, mod, 'clearImmediate', obj, 'clearImmediate', clearWrapper());
    }
    // timers/promises: setTimeout(ms, value, { signal }) and setImmediate(value, { signal }).
    patchFn(NAME, 'timers/promises', 'setTimeout', tp, 'setTimeout', promiseWrapper({ kind: K_SLEEP, withSignal: (a, s) => optionsWithSignal(a, 2, s) }));
    patchFn(NAME, 'timers/promises', 'setImmediate', tp, 'setImmediate', promiseWrapper({ kind: K_SLEEP, detail: () => 0, withSignal: (a, s) => optionsWithSignal(a, 1, s) }));
  },
});
